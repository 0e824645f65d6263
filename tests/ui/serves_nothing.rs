nitrous::routes!(dir = "./fixtures/serves_nothing");

fn main() {}
