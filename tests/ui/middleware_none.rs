// A file in the middleware folder that defines no middleware.
nitrous::routes!(dir = "./fixtures/middleware_none/routes");

fn main() {}
