nitrous::routes!(dir = "./fixtures/duplicate_route");

fn main() {}
