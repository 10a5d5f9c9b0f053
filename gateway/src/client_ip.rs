//! The client's address: the socket peer, unless that peer is a trusted proxy, in which
//! case the one header the deployment names (`X-Forwarded-For` by default, or RFC 7239
//! `Forwarded`) is read from the right, skipping trusted hops. Which header is read is
//! configuration, never the request's choice: proxies append to one and pass the other
//! through untouched, so a client could otherwise pick its own address by sending the
//! header its proxy ignores. A hop that cannot be read ends the walk: what lies left of it
//! was written by nobody we trust. A header sent by anyone else changes nothing.

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;
use ipnet::IpNet;

/// The header a deployment's proxies write the client's address to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    #[default]
    XForwardedFor,
    Forwarded,
}

impl ForwardedHeader {
    pub fn parse(name: &str) -> Result<Self, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            other => Err(format!(
                "{other:?} is neither X-Forwarded-For nor Forwarded"
            )),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::XForwardedFor => "x-forwarded-for",
            Self::Forwarded => "forwarded",
        }
    }

    fn hop(self, element: &str) -> Option<IpAddr> {
        match self {
            Self::XForwardedFor => hop_address(element),
            Self::Forwarded => forwarded_for(element),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    ranges: Vec<IpNet>,
    header: ForwardedHeader,
}

impl TrustedProxies {
    /// Parses a comma-separated list of addresses and CIDR ranges whose `header` is read.
    pub fn parse(list: &str, header: ForwardedHeader) -> Result<Self, String> {
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
            .map(|ranges| Self { ranges, header })
    }

    pub fn trusts(&self, address: &IpAddr) -> bool {
        self.ranges.iter().any(|range| range.contains(address))
    }

    pub fn client_ip(&self, request: &HttpRequest) -> Option<IpAddr> {
        let peer = request.peer_addr()?.ip();
        if !self.trusts(&peer) {
            return Some(peer);
        }
        // Each hop, left to right; `None` for one that cannot be read.
        let hops: Vec<Option<IpAddr>> = request
            .headers()
            .get_all(self.header.name())
            .flat_map(|value| match value.to_str() {
                Ok(value) => value.split(',').map(|hop| self.header.hop(hop)).collect(),
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

    fn trusting(list: &str) -> TrustedProxies {
        TrustedProxies::parse(list, ForwardedHeader::XForwardedFor).unwrap()
    }

    #[test]
    fn forwarded_is_read_from_the_right_when_configured() {
        let proxies = TrustedProxies::parse("10.0.0.0/8", ForwardedHeader::Forwarded).unwrap();
        let ip = |text: &str| text.parse::<IpAddr>().ok();
        let chained = with_header(
            "10.1.1.1:4000",
            "Forwarded",
            r#"for=1.2.3.4, For="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.2"#,
        );
        assert_eq!(proxies.client_ip(&chained), ip("2001:db8:cafe::17"));
        let proxies = trusting("10.0.0.0/8");
        let with_port = with_header(
            "10.1.1.1:4000",
            "X-Forwarded-For",
            "1.2.3.4, 198.51.100.7:5555",
        );
        assert_eq!(proxies.client_ip(&with_port), ip("198.51.100.7"));
    }

    #[test]
    fn only_the_configured_header_is_read() {
        // ingress-nginx appends to X-Forwarded-For and passes a client's `Forwarded`
        // through: reading whichever is present would let the client pick its address.
        let proxies = trusting("10.0.0.0/8");
        let both = TestRequest::default()
            .peer_addr("10.1.1.1:4000".parse().unwrap())
            .insert_header(("Forwarded", "for=1.2.3.4"))
            .insert_header(("X-Forwarded-For", "6.6.6.6, 198.51.100.7"))
            .to_http_request();
        assert_eq!(proxies.client_ip(&both), "198.51.100.7".parse().ok());
        let only_forwarded = with_header("10.1.1.1:4000", "Forwarded", "for=1.2.3.4");
        assert_eq!(proxies.client_ip(&only_forwarded), "10.1.1.1".parse().ok());
        let proxies = TrustedProxies::parse("10.0.0.0/8", ForwardedHeader::Forwarded).unwrap();
        assert_eq!(proxies.client_ip(&both), "1.2.3.4".parse().ok());
        assert_eq!(
            ForwardedHeader::parse(" Forwarded "),
            Ok(ForwardedHeader::Forwarded)
        );
        assert!(ForwardedHeader::parse("x-real-ip").is_err());
    }

    #[test]
    fn a_hop_that_cannot_be_read_ends_the_walk() {
        let proxies = trusting("10.0.0.0/8");
        let ip = |text: &str| text.parse::<IpAddr>().ok();
        // Whatever stands left of `unknown` was written by the client itself.
        let hidden = with_header(
            "10.1.1.1:4000",
            "X-Forwarded-For",
            "1.2.3.4, unknown, 10.0.0.2",
        );
        assert_eq!(proxies.client_ip(&hidden), ip("10.0.0.2"));
        let proxies = TrustedProxies::parse("10.0.0.0/8", ForwardedHeader::Forwarded).unwrap();
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
        let proxies = trusting("10.0.0.0/8");
        let spoofed = request("203.0.113.9:4000", Some("1.2.3.4"));
        assert_eq!(proxies.client_ip(&spoofed), "203.0.113.9".parse().ok());
    }

    #[test]
    fn a_trusted_proxy_chain_is_read_from_the_right() {
        let proxies = trusting("10.0.0.0/8, 192.168.1.1");
        let chained = request("10.1.1.1:4000", Some("1.2.3.4, 198.51.100.7, 192.168.1.1"));
        assert_eq!(proxies.client_ip(&chained), "198.51.100.7".parse().ok());
        let without_header = request("10.1.1.1:4000", None);
        assert_eq!(proxies.client_ip(&without_header), "10.1.1.1".parse().ok());
    }

    #[test]
    fn bad_entries_are_refused() {
        let parse = |list| TrustedProxies::parse(list, ForwardedHeader::default());
        assert!(parse("10.0.0.0/33").is_err());
        assert!(parse("proxy.local").is_err());
        assert!(parse("").unwrap().ranges.is_empty());
    }
}
