// Two middleware files with one order key (`01` and `1`): their order would come from their names
// alone.
nitrous::routes!(dir = "./fixtures/middleware_order/routes");

fn main() {}
