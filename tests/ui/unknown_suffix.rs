nitrous::routes!(dir = "./fixtures/unknown_suffix");

fn main() {}
