// Every kind of middleware problem in one build: the folder's (one order key twice, a file with
// no middleware, a middleware in a route file), at the call, and a signature, in its file.
nitrous::routes!(dir = "./fixtures/middleware_all_at_once/routes");

fn main() {}
