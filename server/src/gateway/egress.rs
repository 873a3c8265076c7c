//! Where the gateway may send requests: the rules on an upstream's address, without I/O.
//!
//! A tenant chooses its API's target, so without these rules it could make the gateway reach
//! what only this machine reaches: the dashboard itself, a database's admin port on loopback, a
//! cloud metadata service that hands out credentials. Such addresses are refused unless the
//! operator allows them (`PORTCULLIS_UPSTREAM_ALLOW`); Portcullis's own listeners are refused
//! always. The rules are checked when an API is saved and again on the address actually
//! connected to, since a name may resolve elsewhere later (DNS rebinding).

use ipnet::IpNet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Addresses refused by default: what only this machine, or its cloud host, reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressClass {
    Loopback,
    Unspecified,
    LinkLocal,
    CloudMetadata,
}

impl AddressClass {
    /// Of an address, after unwrapping IPv4-mapped and IPv4-compatible IPv6 forms; `None` for
    /// an address allowed by default.
    pub fn of(ip: IpAddr) -> Option<Self> {
        match canonical(ip) {
            IpAddr::V4(v4) => Self::of_v4(v4),
            IpAddr::V6(v6) => Self::of_v6(v6),
        }
    }

    fn of_v4(ip: Ipv4Addr) -> Option<Self> {
        const METADATA: [Ipv4Addr; 2] = [Ipv4Addr::new(169, 254, 169, 254), Ipv4Addr::new(100, 100, 100, 200)];
        if METADATA.contains(&ip) {
            Some(Self::CloudMetadata)
        } else if ip.is_loopback() {
            Some(Self::Loopback)
        // 0.0.0.0/8 is "this network": Linux connects 0.0.0.0 to the local host.
        } else if ip.octets()[0] == 0 {
            Some(Self::Unspecified)
        } else if ip.is_link_local() {
            Some(Self::LinkLocal)
        } else {
            None
        }
    }

    fn of_v6(ip: Ipv6Addr) -> Option<Self> {
        const METADATA: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);
        if ip == METADATA {
            Some(Self::CloudMetadata)
        } else if ip.is_loopback() {
            Some(Self::Loopback)
        } else if ip.is_unspecified() {
            Some(Self::Unspecified)
        } else if ip.segments()[0] & 0xffc0 == 0xfe80 {
            Some(Self::LinkLocal)
        } else {
            None
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Loopback => "a loopback address",
            Self::Unspecified => "an unspecified address (this host)",
            Self::LinkLocal => "a link-local address",
            Self::CloudMetadata => "a cloud metadata address",
        }
    }

    /// The allow-list entry that would admit `ip`: the whole class where it is a range meant
    /// for one purpose, else just the address.
    fn allow_entry(self, ip: IpAddr) -> String {
        match (self, ip) {
            (Self::Loopback, IpAddr::V4(_)) => "127.0.0.0/8".into(),
            (Self::LinkLocal, IpAddr::V4(_)) => "169.254.0.0/16".into(),
            (Self::LinkLocal, IpAddr::V6(_)) => "fe80::/10".into(),
            (_, IpAddr::V4(v4)) => format!("{v4}/32"),
            (_, IpAddr::V6(v6)) => format!("{v6}/128"),
        }
    }
}

/// One of Portcullis's own listeners.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listener {
    Dashboard,
    Gateway,
    Metrics,
}

impl Listener {
    fn describe(self) -> &'static str {
        match self {
            Self::Dashboard => "Portcullis's own dashboard (PORTCULLIS_LISTEN)",
            Self::Gateway => "Portcullis's own gateway (PORTCULLIS_GATEWAY_LISTEN)",
            Self::Metrics => "Portcullis's own metrics listener (PORTCULLIS_METRICS_LISTEN)",
        }
    }
}

/// Why an upstream address is refused; the text says what to set, when anything can be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EgressRefusal {
    Class { ip: IpAddr, class: AddressClass },
    OwnListener { addr: SocketAddr, listener: Listener },
}

impl fmt::Display for EgressRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Class { ip, class } => write!(
                f,
                "resolves to {ip}, {}; set PORTCULLIS_UPSTREAM_ALLOW={} to allow it",
                class.describe(),
                class.allow_entry(canonical(*ip))
            ),
            Self::OwnListener { addr, listener } => write!(
                f,
                "resolves to {addr}, {}; an API can never point at Portcullis itself, whatever PORTCULLIS_UPSTREAM_ALLOW says",
                listener.describe()
            ),
        }
    }
}

impl std::error::Error for EgressRefusal {}

/// The egress rules of one server: the operator's allow-list and the addresses it listens on.
#[derive(Clone, Debug, Default)]
pub struct Egress {
    allow: Vec<IpNet>,
    own: Vec<(SocketAddr, Listener)>,
}

impl Egress {
    pub fn new(allow: Vec<IpNet>, own: Vec<(SocketAddr, Listener)>) -> Self {
        Self { allow, own }
    }

    /// Whether the gateway may connect to `addr`. `is_local` tells whether an address belongs
    /// to this machine; it is asked only when a listener is bound to every address (0.0.0.0
    /// or ::) on `addr`'s port.
    pub fn check_with(&self, addr: SocketAddr, is_local: impl Fn(IpAddr) -> bool) -> Result<(), EgressRefusal> {
        let ip = canonical(addr.ip());
        for &(own, listener) in &self.own {
            if own.port() != addr.port() {
                continue;
            }
            let own_ip = canonical(own.ip());
            // A listener on 0.0.0.0 or :: answers on every local address, of either family.
            let same = own_ip == ip || (own_ip.is_unspecified() && (AddressClass::of(ip).is_some() || is_local(ip)));
            if same {
                return Err(EgressRefusal::OwnListener { addr, listener });
            }
        }
        match AddressClass::of(ip) {
            Some(class) if !self.allowed(addr.ip(), ip) => Err(EgressRefusal::Class { ip: addr.ip(), class }),
            _ => Ok(()),
        }
    }

    /// `check_with`, asking the operating system whether an address is this machine's.
    pub fn check(&self, addr: SocketAddr) -> Result<(), EgressRefusal> {
        self.check_with(addr, is_local_address)
    }

    fn allowed(&self, raw: IpAddr, canonical: IpAddr) -> bool {
        self.allow.iter().any(|net| net.contains(&raw) || net.contains(&canonical))
    }
}

/// An IPv4 address written as IPv6 (`::ffff:127.0.0.1`, or the old `::127.0.0.1`) is the IPv4
/// address: the kernel connects it there. `::` and `::1` are IPv6's own.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            if s[..6] == [0; 6] && !v6.is_unspecified() && !v6.is_loopback() {
                return IpAddr::V4(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8));
            }
            ip
        }
        v4 => v4,
    }
}

/// An address is this machine's when a socket can be bound to it.
fn is_local_address(ip: IpAddr) -> bool {
    std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn refused_class(e: &Egress, addr: &str) -> Option<AddressClass> {
        match e.check_with(sa(addr), |_| false) {
            Err(EgressRefusal::Class { class, .. }) => Some(class),
            Err(other) => panic!("{addr}: {other}"),
            Ok(()) => None,
        }
    }

    #[test]
    fn classes_refused_by_default() {
        let e = Egress::default();
        for (addr, class) in [
            ("127.0.0.1:80", AddressClass::Loopback),
            ("127.8.9.10:80", AddressClass::Loopback),
            ("[::1]:80", AddressClass::Loopback),
            ("0.0.0.0:80", AddressClass::Unspecified),
            ("[::]:80", AddressClass::Unspecified),
            ("169.254.1.1:80", AddressClass::LinkLocal),
            ("[fe80::1]:80", AddressClass::LinkLocal),
            ("[febf::1]:80", AddressClass::LinkLocal),
            ("169.254.169.254:80", AddressClass::CloudMetadata),
            ("100.100.100.200:80", AddressClass::CloudMetadata),
            ("[fd00:ec2::254]:80", AddressClass::CloudMetadata),
            // IPv4 written as IPv6 reaches the same place.
            ("[::ffff:127.0.0.1]:80", AddressClass::Loopback),
            ("[::ffff:169.254.169.254]:80", AddressClass::CloudMetadata),
            ("[::127.0.0.1]:80", AddressClass::Loopback),
            ("[::ffff:0.0.0.0]:80", AddressClass::Unspecified),
        ] {
            assert_eq!(refused_class(&e, addr), Some(class), "{addr}");
        }
        for addr in ["10.0.0.1:80", "192.168.1.1:443", "93.184.216.34:80", "[2001:db8::1]:80", "[fec0::1]:80", "100.100.100.201:80", "[::ffff:8.8.8.8]:80"] {
            assert_eq!(refused_class(&e, addr), None, "{addr}");
        }
    }

    #[test]
    fn allow_list_admits_a_class() {
        let e = Egress::new(vec!["127.0.0.0/8".parse().unwrap(), "169.254.169.254/32".parse().unwrap()], vec![]);
        assert_eq!(e.check_with(sa("127.0.0.1:9000"), |_| false), Ok(()));
        // The mapped form is admitted by the IPv4 entry.
        assert_eq!(e.check_with(sa("[::ffff:127.0.0.1]:9000"), |_| false), Ok(()));
        assert_eq!(e.check_with(sa("169.254.169.254:80"), |_| false), Ok(()));
        assert_eq!(refused_class(&e, "[::1]:9000"), Some(AddressClass::Loopback));
        assert_eq!(refused_class(&e, "169.254.1.1:80"), Some(AddressClass::LinkLocal));
    }

    #[test]
    fn own_listeners_always_refused() {
        let everything: Vec<IpNet> = vec!["0.0.0.0/0".parse().unwrap(), "::/0".parse().unwrap()];
        let e = Egress::new(everything.clone(), vec![(sa("127.0.0.1:3000"), Listener::Dashboard), (sa("127.0.0.1:8080"), Listener::Gateway)]);
        let own = |addr: &str| match e.check_with(sa(addr), |_| false) {
            Err(EgressRefusal::OwnListener { listener, .. }) => Some(listener),
            _ => None,
        };
        assert_eq!(own("127.0.0.1:3000"), Some(Listener::Dashboard));
        assert_eq!(own("[::ffff:127.0.0.1]:8080"), Some(Listener::Gateway));
        assert_eq!(own("127.0.0.1:3001"), None);
        // Bound to one address: the same port elsewhere is someone else.
        assert_eq!(own("127.0.0.2:3000"), None);

        // Bound to every address: the port on any local address is Portcullis.
        let e = Egress::new(everything, vec![(sa("0.0.0.0:3000"), Listener::Dashboard), (sa("[::]:8080"), Listener::Gateway)]);
        let local = |ip: IpAddr| ip == "10.1.2.3".parse::<IpAddr>().unwrap();
        let own = |addr: &str| e.check_with(sa(addr), local).is_err();
        assert!(own("127.0.0.1:3000") && own("127.1.1.1:3000") && own("[::1]:3000") && own("0.0.0.0:3000"));
        assert!(own("10.1.2.3:3000") && own("10.1.2.3:8080") && own("[::ffff:10.1.2.3]:8080"));
        assert!(!own("10.9.9.9:3000") && !own("10.1.2.3:3001"));
    }

    #[test]
    fn messages_say_what_to_set() {
        let e = Egress::new(vec![], vec![(sa("127.0.0.1:3000"), Listener::Dashboard)]);
        let msg = |addr: &str| e.check_with(sa(addr), |_| false).unwrap_err().to_string();
        assert_eq!(msg("127.0.0.1:80"), "resolves to 127.0.0.1, a loopback address; set PORTCULLIS_UPSTREAM_ALLOW=127.0.0.0/8 to allow it");
        assert!(msg("[::1]:80").contains("PORTCULLIS_UPSTREAM_ALLOW=::1/128"));
        assert!(msg("169.254.169.254:80").contains("cloud metadata") && msg("169.254.169.254:80").contains("=169.254.169.254/32"));
        assert!(msg("[::ffff:169.254.0.9]:80").contains("=169.254.0.0/16"));
        let own = msg("127.0.0.1:3000");
        assert!(own.contains("PORTCULLIS_LISTEN") && own.contains("never"), "{own}");
    }

    #[test]
    fn real_local_addresses() {
        assert!(is_local_address("127.0.0.1".parse().unwrap()));
        // TEST-NET-3 is never assigned to a host.
        assert!(!is_local_address("203.0.113.77".parse().unwrap()));
    }
}
