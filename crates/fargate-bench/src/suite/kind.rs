//! The kinds of test a suite holds.

use serde::{Deserialize, Serialize};

use probe_core::contract::TestKind as NetTestKind;

/// The test kinds a suite can hold (also the values of `--test`): every network test of the
/// probe contract, and memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum TestKind {
    /// A netprobe server/client pair runs it.
    Network(NetTestKind),
    /// memprobe bandwidth and latency.
    Memory,
}

impl TestKind {
    /// bulk TCP, as suites name it.
    pub const TCP_STREAM: TestKind = TestKind::Network(NetTestKind::TcpStream);
    /// paced UDP.
    pub const UDP_STREAM: TestKind = TestKind::Network(NetTestKind::UdpStream);
    /// TCP request/response.
    pub const TCP_RR: TestKind = TestKind::Network(NetTestKind::TcpRr);

    /// Every kind, network kinds first.
    pub fn all() -> impl Iterator<Item = TestKind> {
        NetTestKind::ALL
            .into_iter()
            .map(TestKind::Network)
            .chain([TestKind::Memory])
    }

    /// Name as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            TestKind::Network(k) => k.name(),
            TestKind::Memory => "memory",
        }
    }

    /// Whether a server/client pair runs it.
    pub fn is_network(self) -> bool {
        self != TestKind::Memory
    }

    /// The network kind, for a network test.
    pub fn network(self) -> Option<NetTestKind> {
        match self {
            TestKind::Network(k) => Some(k),
            TestKind::Memory => None,
        }
    }
}

impl std::str::FromStr for TestKind {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        TestKind::all().find(|k| k.name() == s).ok_or_else(|| {
            let names: Vec<&str> = TestKind::all().map(TestKind::name).collect();
            format!("unknown test kind {s:?}; use one of {}", names.join(", "))
        })
    }
}

impl TryFrom<String> for TestKind {
    type Error = String;

    fn try_from(s: String) -> std::result::Result<Self, String> {
        s.parse()
    }
}

impl From<TestKind> for String {
    fn from(k: TestKind) -> String {
        k.name().to_owned()
    }
}
