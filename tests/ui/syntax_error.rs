nitrous::routes!(dir = "./fixtures/syntax_error");

fn main() {}
