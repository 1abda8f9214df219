//! Who the client is behind proxies. A proxy that appends to
//! `X-Forwarded-For` (nginx's `$proxy_add_x_forwarded_for`, cloud load
//! balancers) keeps whatever the client sent on the left, so only the
//! entries added by proxies we run can be believed: the header is read from
//! the right, each trusted proxy's hop skipped, and the first address that is
//! not a trusted proxy is the client. Everything left of it is the client's
//! own claim and is ignored.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` entries are believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
    /// `--trust-forwarded-for`: the connecting peer is a proxy whatever its
    /// address (one hop), for set-ups that cannot name their proxies.
    any_peer: bool,
}

impl TrustedProxies {
    /// `list`: addresses and CIDR blocks separated by commas or spaces, e.g.
    /// `10.0.0.0/8, 192.168.1.5, fd00::/8`.
    pub fn parse(list: &str, any_peer: bool) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in list.split([',', ' ', '\t', '\n']).filter(|s| !s.is_empty()) {
            let net = match item.parse::<IpNet>() {
                Ok(net) => net.trunc(),
                Err(_) => match item.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip.to_canonical()),
                    Err(_) => return Err(format!("{item:?} is not an IP address or CIDR block")),
                },
            };
            nets.push(net);
        }
        Ok(Self { nets, any_peer })
    }

    /// Trusts no proxy: the peer address is the client.
    pub fn none() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.nets.is_empty() && !self.any_peer
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// The client's address, from the connecting `peer` and the
    /// `X-Forwarded-For` headers in the order they arrived.
    pub fn client<'a>(&self, peer: IpAddr, forwarded_for: impl DoubleEndedIterator<Item = &'a str>) -> IpAddr {
        let mut client = peer.to_canonical();
        if !(self.any_peer || self.trusts(client)) {
            return client;
        }
        // The nearest hop is the last entry of the last header.
        let hops: Vec<&str> = forwarded_for.flat_map(|h| h.split(',')).collect();
        for hop in hops.into_iter().rev() {
            // An entry that is no address ends the walk at the last proxy.
            let Some(ip) = parse_hop(hop) else { break };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (some load
/// balancers add one) or in brackets.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    let ip = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| hop.strip_prefix('[').and_then(|h| h.strip_suffix(']')).and_then(|h| h.parse().ok()))?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_first_untrusted_hop_from_the_right_is_the_client() {
        let p = TrustedProxies::parse("10.0.0.0/8, 192.168.1.5", false).unwrap();
        // nginx appended the client's address to what the client forged.
        assert_eq!(p.client(ip("10.0.0.2"), ["6.6.6.6, 203.0.113.7"].into_iter()), ip("203.0.113.7"));
        // Two proxies: the load balancer's hop is skipped as well.
        assert_eq!(p.client(ip("10.0.0.2"), ["6.6.6.6, 203.0.113.7, 192.168.1.5"].into_iter()), ip("203.0.113.7"));
        // Several headers are one list, in order.
        assert_eq!(p.client(ip("10.0.0.2"), ["6.6.6.6", "203.0.113.7:4711"].into_iter()), ip("203.0.113.7"));
        // A client that reaches us directly cannot claim an address.
        assert_eq!(p.client(ip("198.51.100.1"), ["203.0.113.7"].into_iter()), ip("198.51.100.1"));
        // Garbage on the right stops at the proxy; all trusted: the leftmost.
        assert_eq!(p.client(ip("10.0.0.2"), ["203.0.113.7, nonsense"].into_iter()), ip("10.0.0.2"));
        assert_eq!(p.client(ip("10.0.0.2"), ["10.1.1.1, 10.2.2.2"].into_iter()), ip("10.1.1.1"));
        // IPv4 seen through an IPv6 socket is the IPv4 address.
        assert_eq!(p.client(ip("::ffff:10.0.0.2"), ["[2001:db8::1]"].into_iter()), ip("2001:db8::1"));
    }

    #[test]
    fn trust_forwarded_for_alone_trusts_one_hop() {
        let p = TrustedProxies::parse("", true).unwrap();
        assert_eq!(p.client(ip("127.0.0.1"), ["6.6.6.6, 203.0.113.7"].into_iter()), ip("203.0.113.7"));
        assert_eq!(p.client(ip("127.0.0.1"), std::iter::empty()), ip("127.0.0.1"));
        assert!(TrustedProxies::parse("10.0.0.0/33", false).is_err());
        assert!(TrustedProxies::parse("proxy.internal", false).is_err());
        assert!(TrustedProxies::none().is_empty());
    }
}
