//! A response larger than the socket buffers on both ends: a client that does not read it holds
//! the server's write, until the write timeout.

#[nitrous::handler]
pub async fn big() -> Vec<u8> {
    vec![b'x'; 32 << 20]
}
