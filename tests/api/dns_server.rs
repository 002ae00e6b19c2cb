//! A real authoritative DNS server for tests (hickory-server), serving one zone the test
//! controls on a random UDP and TCP port of 127.0.0.1. The zone is the root, so any name can
//! be given records; names without records answer NXDOMAIN. Records can be added and
//! removed while Herald runs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use hickory_server::Server;
use hickory_server::proto::rr::rdata::{A, CAA, CNAME, MX, SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record, RecordType, RrKey};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};
use tokio::net::{TcpListener, UdpSocket};

pub struct TestDns {
    pub addr: SocketAddr,
    zone: Arc<InMemoryZoneHandler>,
    serial: AtomicU32,
    _server: Server<Catalog>,
}

fn name(text: &str) -> Name {
    Name::from_ascii(format!("{}.", text.trim_end_matches('.'))).expect("valid DNS name")
}

/// UDP and TCP on the same free port (retrying if TCP finds the port taken).
async fn bind_pair() -> (UdpSocket, TcpListener) {
    for _ in 0..20 {
        let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind UDP");
        let port = udp.local_addr().unwrap().port();
        if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port)).await {
            return (udp, tcp);
        }
    }
    panic!("no free port for the test DNS server");
}

impl TestDns {
    pub async fn start() -> TestDns {
        let origin = Name::root();
        let zone = InMemoryZoneHandler::empty(origin.clone(), ZoneType::Primary, AxfrPolicy::Deny);
        let soa = SOA::new(
            name("ns.test"),
            name("hostmaster.test"),
            1,
            3600,
            600,
            86400,
            0,
        );
        zone.upsert(Record::from_rdata(origin.clone(), 0, RData::SOA(soa)), 1)
            .await;
        let zone = Arc::new(zone);
        let mut catalog = Catalog::new();
        catalog.upsert(LowerName::new(&origin), vec![zone.clone()]);
        let mut server = Server::new(catalog);
        let (udp, tcp) = bind_pair().await;
        let addr = udp.local_addr().unwrap();
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(5), 4096);
        TestDns {
            addr,
            zone,
            serial: AtomicU32::new(2),
            _server: server,
        }
    }

    /// `ip:port`, as Herald's `dns_server` setting takes it.
    pub fn server(&self) -> String {
        self.addr.to_string()
    }

    async fn add(&self, owner: &str, data: RData) {
        let serial = self.serial.fetch_add(1, Ordering::SeqCst);
        // Adding a record that is already there changes nothing.
        self.zone
            .upsert(Record::from_rdata(name(owner), 60, data), serial)
            .await;
    }

    /// A TXT record made of one or more strings (long values are split in real DNS).
    pub async fn add_txt(&self, owner: &str, strings: &[&str]) {
        let strings = strings.iter().map(|s| s.to_string()).collect();
        self.add(owner, RData::TXT(TXT::new(strings))).await;
    }

    /// A TXT record holding `value`, split into strings of at most 255 bytes.
    pub async fn add_long_txt(&self, owner: &str, value: &str) {
        let chunks: Vec<&str> = value
            .as_bytes()
            .chunks(255)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        self.add_txt(owner, &chunks).await;
    }

    pub async fn add_mx(&self, owner: &str, preference: u16, exchange: &str) {
        self.add(owner, RData::MX(MX::new(preference, name(exchange))))
            .await;
    }

    /// An IPv4 address record.
    pub async fn add_a(&self, owner: &str, ip: std::net::Ipv4Addr) {
        self.add(owner, RData::A(A(ip))).await;
    }

    pub async fn add_cname(&self, owner: &str, target: &str) {
        self.add(owner, RData::CNAME(CNAME(name(target)))).await;
    }

    /// A CAA property as written in a zone file's value field: `flags tag value`, e.g.
    /// `(0, "issue", "letsencrypt.org; validationmethods=dns-01")`.
    pub async fn add_caa(&self, owner: &str, flags: u8, tag: &str, value: &str) {
        let mut caa = CAA::new_iodef(false, "mailto:placeholder@example.com".parse().unwrap());
        caa.issuer_critical = flags & 0x80 != 0;
        caa.tag = tag.to_string();
        caa.value = value.as_bytes().to_vec();
        self.add(owner, RData::CAA(caa)).await;
    }

    /// Removes every record of `kind` at `owner`.
    pub async fn remove(&self, owner: &str, kind: RecordType) {
        let key = RrKey::new(LowerName::new(&name(owner)), kind);
        self.zone.records_mut().await.remove(&key);
    }
}
