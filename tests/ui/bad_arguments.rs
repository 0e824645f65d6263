nitrous::routes!(dir = "./fixtures/attributes", colour = "blue");

fn main() {}
