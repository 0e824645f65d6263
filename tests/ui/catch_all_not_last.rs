nitrous::routes!(dir = "./fixtures/catch_all_not_last");

fn main() {}
