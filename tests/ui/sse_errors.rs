nitrous::routes!(dir = "./fixtures/sse_errors");

fn main() {}
