// `peer.param` with a name the route does not have: reported by `routes!` with the file and line.
nitrous::routes!(dir = "./fixtures/param_typo");

fn main() {}
