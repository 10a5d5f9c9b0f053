//! A cap on the connections one client address holds open at once, so that a single
//! host cannot take every socket (slowloris with many connections, or a runaway client).
//! Each accepted connection is counted against its peer address; a connection past the
//! cap is marked at accept, and its first request is answered 429 `too_many_connections`
//! and closed. One that never sends a request is closed by the header timeout. Trusted
//! proxies are not counted: behind them, every client shares their address.

use std::{
    any::Any,
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
};

use actix_web::{
    Error, ResponseError,
    body::{EitherBody, MessageBody},
    dev::{Extensions, ServiceRequest, ServiceResponse},
    http::ConnectionType,
    middleware::Next,
    rt::net::TcpStream,
};
use flowsvault_proto::ErrorCode;

use crate::{client_ip::TrustedProxies, problem::ApiError};

/// Open connections by peer address.
#[derive(Debug)]
pub struct ConnectionCounter {
    limit: u32,
    open: Mutex<HashMap<IpAddr, u32>>,
}

/// One counted connection; dropped with the connection, which gives its place back.
#[derive(Debug)]
pub struct ConnectionSlot {
    counter: Arc<ConnectionCounter>,
    address: IpAddr,
    /// Past the cap when it was accepted.
    pub over: bool,
}

impl ConnectionCounter {
    /// `limit` connections per address; 0 for no cap.
    pub fn new(limit: u32) -> Arc<Self> {
        Arc::new(Self {
            limit,
            open: Mutex::new(HashMap::new()),
        })
    }

    fn open(self: &Arc<Self>, address: IpAddr) -> ConnectionSlot {
        let count = match self.open.lock() {
            Ok(mut open) => {
                let count = open.entry(address).or_insert(0);
                *count += 1;
                *count
            }
            // A poisoned map counts nothing rather than refusing everyone.
            Err(_) => 0,
        };
        ConnectionSlot {
            counter: self.clone(),
            address,
            over: count > self.limit,
        }
    }

    /// The connections `address` holds now.
    pub fn open_from(&self, address: IpAddr) -> u32 {
        self.open
            .lock()
            .map_or(0, |open| open.get(&address).copied().unwrap_or(0))
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.counter.open.lock()
            && let Some(count) = open.get_mut(&self.address)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

/// What `HttpServer::on_connect` runs for every accepted connection.
pub fn on_connect(
    counter: Arc<ConnectionCounter>,
    proxies: TrustedProxies,
) -> impl Fn(&dyn Any, &mut Extensions) + Send + Sync + 'static {
    move |connection, extensions| {
        if counter.limit == 0 {
            return;
        }
        let Some(peer) = connection
            .downcast_ref::<TcpStream>()
            .and_then(|stream| stream.peer_addr().ok())
        else {
            return;
        };
        if proxies.trusts(&peer.ip()) {
            return;
        }
        extensions.insert(counter.open(peer.ip()));
    }
}

/// Answers the requests of a connection past the cap, and closes it.
pub async fn middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let over = request
        .request()
        .conn_data::<ConnectionSlot>()
        .is_some_and(|slot| slot.over);
    if !over {
        return Ok(next.call(request).await?.map_into_left_body());
    }
    let mut response = ApiError::new(
        ErrorCode::TooManyConnections,
        "this address has too many connections open; close some and try again",
    )
    .error_response();
    crate::routes::tus::mark_answer(request.path(), response.headers_mut());
    response
        .head_mut()
        .set_connection_type(ConnectionType::Close);
    // A place comes back as soon as one of the address's connections closes.
    response.headers_mut().insert(
        actix_web::http::header::RETRY_AFTER,
        actix_web::http::header::HeaderValue::from_static("1"),
    );
    Ok(request.into_response(response).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_past_the_cap_are_marked_and_places_come_back() {
        let counter = ConnectionCounter::new(2);
        let address: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        let first = counter.open(address);
        let second = counter.open(address);
        let third = counter.open(address);
        assert!(!first.over && !second.over);
        assert!(third.over);
        assert!(!counter.open(other).over);
        assert_eq!(counter.open_from(address), 3);
        drop(third);
        drop(first);
        assert_eq!(counter.open_from(address), 1);
        assert!(!counter.open(address).over);
        drop(second);
        assert_eq!(counter.open_from(address), 0);
        assert_eq!(counter.open_from(other), 0);
    }
}
