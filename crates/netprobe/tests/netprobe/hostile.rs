//! Hostile clients against a real server on loopback (issue 14): an idle flood held and
//! reopened from one address, and key guessing. Each asserts the server stays up, the flood is
//! refused with a reason instead of taking every slot, and a legitimate client from another
//! address is served in time. Bounded: loopback only, fixed counts.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use netprobe::protocol::Refusal;
use netprobe::{
    run_test, serve, ClientConfig, NetError, PreSharedKey, ServeSummary, ServerConfig, TestKind,
    TestRequest,
};
use tokio::io::AsyncReadExt;

async fn start(
    config: ServerConfig,
) -> (
    SocketAddr,
    netprobe::StopSwitch,
    tokio::task::JoinHandle<netprobe::Result<ServeSummary>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let tx = netprobe::StopSwitch::new();
    let handle = tokio::spawn(serve(listener, config, tx.requests()));
    (addr, tx, handle)
}

/// A connection from another loopback address (another "host" to the server).
async fn connect_from(
    source: [u8; 4],
    server: SocketAddr,
) -> std::io::Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    socket.connect(server).await
}

/// The attacks run one at a time: each counts this process's descriptors and timings.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn rr(secs: u64) -> TestRequest {
    let mut r = TestRequest::new(TestKind::TcpRr, Duration::from_secs(secs));
    r.message_bytes = 64;
    r.response_bytes = 64;
    r
}

/// Issue 14, defect 2: 36 idle connections used to lock every client out. Now 1,000 idle
/// connections from one address, reopened as they close, take at most that address's share of
/// handshake slots; a client from another address completes a 2 s test within 5 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_flood_from_one_address_does_not_lock_others_out() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let fds_before = open_fds();
    let (addr, stop, handle) = start(ServerConfig::default()).await;
    let running = Arc::new(AtomicBool::new(true));
    let (opened, told) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut attackers = Vec::new();
    for _ in 0..1_000 {
        let (running, opened, told) = (running.clone(), opened.clone(), told.clone());
        attackers.push(tokio::spawn(async move {
            while running.load(Ordering::Relaxed) {
                let Ok(mut s) = connect_from([127, 0, 0, 2], addr).await else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                opened.fetch_add(1, Ordering::Relaxed);
                // Say nothing; hold until the server closes (or the test ends).
                let mut buf = [0u8; 256];
                let n = tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf)).await;
                if matches!(n, Ok(Ok(n)) if n > 0) {
                    told.fetch_add(1, Ordering::Relaxed); // a refusal frame, not a silent close
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let report = run_test(&ClientConfig::new(addr.to_string(), rr(2))).await;
    let took = started.elapsed();
    running.store(false, Ordering::Relaxed);
    let report = report.expect("the legitimate client is served");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(report.metrics.latency.is_some());
    assert!(opened.load(Ordering::Relaxed) >= 1_000);
    assert!(
        told.load(Ordering::Relaxed) >= 900,
        "refused connections are told why: {}",
        told.load(Ordering::Relaxed)
    );
    for a in attackers {
        a.abort();
    }
    stop.request();
    let summary = handle.await.unwrap().unwrap();
    assert_eq!(summary.completed, 1);
    assert!(summary.refused >= 900, "{summary:?}");
    // Server and flood share this process: once both are gone, so are their descriptors, and
    // the flood never took the process's memory far (read from /proc).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fds_after = open_fds();
    assert!(
        fds_after <= fds_before + 8,
        "descriptors leaked: {fds_before} before, {fds_after} after"
    );
    let peak = proc_status_kib("VmHWM") << 10;
    assert!(peak < 256 << 20, "peak RSS {peak} bytes");
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn proc_status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Issue 14, defect 6: 5,000 wrong keys per second cost nothing. Now every failed proof from an
/// address makes it wait longer: in 3 s a guesser gets only a handful of proofs heard, while a
/// client with the key, from another address, is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_guessing_is_slowed_per_address() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let key = PreSharedKey::new("0123456789abcdef-right").unwrap();
    let (addr, stop, handle) = start(ServerConfig {
        psk: Some(key.clone()),
        ..Default::default()
    })
    .await;
    let guesser = tokio::spawn(async move {
        let (mut heard, mut slowed) = (0u32, 0u32);
        let until = Instant::now() + Duration::from_secs(3);
        let mut n = 0u64;
        while Instant::now() < until {
            n += 1;
            let mut guess = ClientConfig::new(addr.to_string(), rr(1));
            guess.psk = PreSharedKey::new(format!("guess-{n}"));
            guess.bind_source = Some([127, 0, 0, 3].into());
            guess.connect_retry = Duration::ZERO;
            match run_test(&guess).await {
                Err(NetError::Refused(Refusal::AuthFailed)) => heard += 1,
                Err(NetError::Refused(Refusal::SlowDown { .. })) => slowed += 1,
                other => panic!("a guess got {other:?}"),
            }
        }
        (heard, slowed)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut good = ClientConfig::new(addr.to_string(), rr(1));
    good.psk = Some(key);
    run_test(&good)
        .await
        .expect("the right key from another address is served");
    let (heard, slowed) = guesser.await.unwrap();
    // 200 ms, doubling: 0.2 + 0.4 + 0.8 + 1.6 s covers 3 s with at most 5 proofs heard.
    assert!(heard <= 5, "{heard} proofs heard in 3 s");
    assert!(slowed >= 10, "{slowed} guesses told to slow down");
    stop.request();
    handle.await.unwrap().unwrap();
}
