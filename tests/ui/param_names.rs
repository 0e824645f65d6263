nitrous::routes!(dir = "./fixtures/param_names");

fn main() {}
