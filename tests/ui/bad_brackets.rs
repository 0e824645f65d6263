nitrous::routes!(dir = "./fixtures/bad_brackets");

fn main() {}
