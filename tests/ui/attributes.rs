nitrous::routes!(dir = "./fixtures/attributes");

fn main() {}
