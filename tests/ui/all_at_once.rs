nitrous::routes!(dir = "./fixtures/all_at_once");

fn main() {}
