nitrous::routes!(dir = "./fixtures/websocket_errors");

fn main() {}
