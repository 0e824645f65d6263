// Middleware whose signatures `from_fn` cannot take: each is reported once, in its own file, at
// what is wrong, all in one build.
nitrous::routes!(dir = "./fixtures/middleware_signature/routes");

fn main() {}
