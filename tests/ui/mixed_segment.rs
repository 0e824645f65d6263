nitrous::routes!(dir = "./fixtures/mixed_segment");

fn main() {}
