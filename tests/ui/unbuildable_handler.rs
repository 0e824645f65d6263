nitrous::routes!(dir = "./fixtures/unbuildable");

fn main() {}
