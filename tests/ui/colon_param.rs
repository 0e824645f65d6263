nitrous::routes!(dir = "./fixtures/colon_param");

fn main() {}
