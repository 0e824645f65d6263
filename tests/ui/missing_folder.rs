nitrous::routes!(dir = "./fixtures/does_not_exist");

fn main() {}
