// A handler that returns no response, or whose future is not `Send`: each is reported once, in the
// route file.
nitrous::routes!(dir = "./fixtures/not_a_handler");

fn main() {}
