//! The client's address: the socket peer, unless that peer is a trusted proxy, in which
//! case `Forwarded` (RFC 7239; else `X-Forwarded-For`) is read from the right, skipping
//! trusted hops. A hop that cannot be read ends the walk: what lies left of it was written
//! by nobody we trust. A header sent by anyone else changes nothing.

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;
use ipnet::IpNet;

#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated list of addresses and CIDR ranges.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{entry:?} is not an address or CIDR range"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn trusts(&self, address: &IpAddr) -> bool {
        self.0.iter().any(|range| range.contains(address))
    }

    pub fn client_ip(&self, request: &HttpRequest) -> Option<IpAddr> {
        let peer = request.peer_addr()?.ip();
        if !self.trusts(&peer) {
            return Some(peer);
        }
        let headers = request.headers();
        let (name, address_of): (&str, fn(&str) -> Option<IpAddr>) =
            if headers.contains_key("forwarded") {
                ("forwarded", forwarded_for)
            } else {
                ("x-forwarded-for", hop_address)
            };
        // Each hop, left to right; `None` for one that cannot be read.
        let hops: Vec<Option<IpAddr>> = headers
            .get_all(name)
            .flat_map(|value| match value.to_str() {
                Ok(value) => value.split(',').map(address_of).collect(),
                Err(_) => vec![None],
            })
            .collect();
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            let Some(address) = hop else {
                break;
            };
            client = address;
            if !self.trusts(&address) {
                break;
            }
        }
        Some(client)
    }
}

/// The address of one `Forwarded` element's `for` parameter.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("for")
            .then(|| hop_address(value))?
    })
}

/// One hop's address: `192.0.2.1`, `2001:db8::1`, with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`), bracketed, or quoted as `Forwarded` writes them. Obfuscated
/// identifiers (`unknown`, `_hidden`) are not addresses.
fn hop_address(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .or_else(|| {
            text.strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|inner| inner.parse().ok())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn with_header(peer: &str, name: &str, value: &str) -> HttpRequest {
        TestRequest::default()
            .peer_addr(peer.parse().unwrap())
            .insert_header((name, value))
            .to_http_request()
    }

    #[test]
    fn forwarded_is_read_from_the_right_too() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let ip = |text: &str| text.parse::<IpAddr>().ok();
        let chained = with_header(
            "10.1.1.1:4000",
            "Forwarded",
            r#"for=1.2.3.4, For="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.2"#,
        );
        assert_eq!(proxies.client_ip(&chained), ip("2001:db8:cafe::17"));
        let with_port = with_header(
            "10.1.1.1:4000",
            "X-Forwarded-For",
            "1.2.3.4, 198.51.100.7:5555",
        );
        assert_eq!(proxies.client_ip(&with_port), ip("198.51.100.7"));
    }

    #[test]
    fn a_hop_that_cannot_be_read_ends_the_walk() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let ip = |text: &str| text.parse::<IpAddr>().ok();
        // Whatever stands left of `unknown` was written by the client itself.
        let hidden = with_header(
            "10.1.1.1:4000",
            "X-Forwarded-For",
            "1.2.3.4, unknown, 10.0.0.2",
        );
        assert_eq!(proxies.client_ip(&hidden), ip("10.0.0.2"));
        let obfuscated = with_header("10.1.1.1:4000", "Forwarded", "for=1.2.3.4, for=_hidden");
        assert_eq!(proxies.client_ip(&obfuscated), ip("10.1.1.1"));
        // From an untrusted peer, neither header counts.
        let spoofed = with_header("203.0.113.9:4000", "Forwarded", "for=1.2.3.4");
        assert_eq!(proxies.client_ip(&spoofed), ip("203.0.113.9"));
    }

    fn request(peer: &str, forwarded: Option<&str>) -> HttpRequest {
        let mut request = TestRequest::default().peer_addr(peer.parse().unwrap());
        if let Some(value) = forwarded {
            request = request.insert_header(("X-Forwarded-For", value));
        }
        request.to_http_request()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let spoofed = request("203.0.113.9:4000", Some("1.2.3.4"));
        assert_eq!(proxies.client_ip(&spoofed), "203.0.113.9".parse().ok());
    }

    #[test]
    fn a_trusted_proxy_chain_is_read_from_the_right() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 192.168.1.1").unwrap();
        let chained = request("10.1.1.1:4000", Some("1.2.3.4, 198.51.100.7, 192.168.1.1"));
        assert_eq!(proxies.client_ip(&chained), "198.51.100.7".parse().ok());
        let without_header = request("10.1.1.1:4000", None);
        assert_eq!(proxies.client_ip(&without_header), "10.1.1.1".parse().ok());
    }

    #[test]
    fn bad_entries_are_refused() {
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.local").is_err());
        assert!(TrustedProxies::parse("").unwrap().0.is_empty());
    }
}
