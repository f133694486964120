//! Every test kind against a real server on 127.0.0.1, and every refusal path.

use std::net::SocketAddr;
use std::time::Duration;

use netprobe::protocol::{encode_frame, Message, Refusal, MAGIC};
use netprobe::{
    run_test, serve, ClientConfig, Flow, NetError, PreSharedKey, ReceiveWait, ServeSummary,
    ServerConfig, ServerLimits, TestKind, TestRequest,
};
use probe_core::report::Direction;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

use crate::common::assert_schema_valid;

struct TestServer {
    addr: SocketAddr,
    stop: Option<netprobe::StopSwitch>,
    handle: JoinHandle<netprobe::Result<ServeSummary>>,
}

impl TestServer {
    async fn start(config: ServerConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let tx = netprobe::StopSwitch::new();
        let handle = tokio::spawn(serve(listener, config, tx.requests()));
        Self {
            addr,
            stop: Some(tx),
            handle,
        }
    }

    async fn stop(mut self) -> ServeSummary {
        self.stop.take().unwrap().request();
        self.handle.await.unwrap().unwrap()
    }

    fn client(&self, request: TestRequest) -> ClientConfig {
        ClientConfig::new(self.addr.to_string(), request)
    }
}

fn short(kind: TestKind) -> TestRequest {
    let mut r = TestRequest::new(kind, Duration::from_millis(600));
    r.interval_ms = 200;
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_stream_forward_reverse_and_bidir_count_consistently() {
    let server = TestServer::start(ServerConfig::default()).await;
    for flow in [Flow::Forward, Flow::Reverse, Flow::Bidirectional] {
        let mut req = short(TestKind::TcpStream);
        req.flow = flow;
        req.streams = 2;
        req.omit_ms = 200;
        let report = run_test(&server.client(req)).await.unwrap();
        assert_schema_valid(&report);
        let expected_dirs = match flow {
            Flow::Forward => vec![Direction::ClientToServer],
            Flow::Reverse => vec![Direction::ServerToClient],
            Flow::Bidirectional => vec![Direction::ClientToServer, Direction::ServerToClient],
        };
        let dirs: Vec<_> = report
            .metrics
            .throughput
            .iter()
            .map(|t| t.direction)
            .collect();
        assert_eq!(dirs, expected_dirs, "{flow:?}");
        for t in &report.metrics.throughput {
            assert_eq!(t.streams.len(), 2);
            assert!(
                t.received_bytes > 1_000_000,
                "{flow:?}: {}",
                t.received_bytes
            );
            assert_eq!(
                t.received_bytes,
                t.streams.iter().map(|s| s.received_bytes).sum::<u64>()
            );
            let from_intervals: u64 = report
                .intervals
                .iter()
                .filter(|i| i.direction == Some(t.direction))
                .map(|i| i.bytes)
                .sum();
            assert_eq!(from_intervals, t.received_bytes);
            assert_eq!(
                report
                    .intervals
                    .iter()
                    .filter(|i| i.direction == Some(t.direction))
                    .count(),
                3
            );
            let expected_bps = t.received_bytes as f64 * 8.0 / 0.6;
            assert!((t.bits_per_sec - expected_bps).abs() / expected_bps < 1e-9);
            for s in &t.streams {
                let info = s.sender_tcp_info.as_ref().expect("sender TCP_INFO");
                assert!(info.snd_mss_bytes > 0 && info.srtt_ns > 0);
                assert!(s.sender_socket.as_ref().unwrap().send_buffer_bytes.unwrap() > 0);
            }
        }
        assert_eq!(report.metrics.cpu.len(), 2);
        assert_eq!(report.test.parameters["omit_ns"], 200_000_000);
    }
    let summary = server.stop().await;
    assert_eq!(summary.completed, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receive_wait_modes_are_applied_and_reported() {
    let server = TestServer::start(ServerConfig::default()).await;
    // Auto polls where every data thread has a CPU: here one stream pinned to one CPU, unless
    // this process runs under a fractional CPU quota.
    let auto_polls = probe_core::host::effective_cpus() >= 1.0;
    let cases = [
        (ReceiveWait::Poll, 1, true),
        (ReceiveWait::Block, 1, false),
        (ReceiveWait::Auto, 1, auto_polls),
        // Four receivers on one CPU would spin against each other: auto blocks.
        (ReceiveWait::Auto, 4, false),
    ];
    for kind in [TestKind::TcpStream, TestKind::UdpStream] {
        for (wait, streams, polled) in cases {
            if kind == TestKind::UdpStream && streams > 1 {
                continue;
            }
            let mut req = short(kind);
            req.receive_wait = wait;
            req.streams = streams;
            req.server_cpus = vec![0];
            if kind == TestKind::UdpStream {
                req.rate = Some(50_000_000);
            }
            let report = run_test(&server.client(req)).await.unwrap();
            let params = &report.test.parameters;
            assert_eq!(
                params["server_receivers_polled"], polled,
                "{kind:?} {wait:?} x{streams}"
            );
            // The client only sends here: it has no receiver to poll, whatever the mode.
            assert_eq!(
                params["client_receivers_polled"], false,
                "{kind:?} {wait:?}"
            );
            let t = &report.metrics.throughput[0];
            assert!(t.received_bytes > 100_000, "{kind:?} {wait:?}: {t:?}");
            if kind == TestKind::TcpStream {
                let from_intervals: u64 = report.intervals.iter().map(|i| i.bytes).sum();
                assert_eq!(from_intervals, t.received_bytes, "{kind:?} {wait:?}");
            } else {
                let udp = report.metrics.udp.as_ref().unwrap();
                assert_eq!(
                    udp.received_datagrams + udp.lost_datagrams,
                    udp.sent_datagrams
                );
            }
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zerocopy_and_socket_options_are_read_back() {
    let server = TestServer::start(ServerConfig::default()).await;
    let mut req = short(TestKind::TcpStream);
    req.zerocopy = true;
    req.socket.send_buffer_bytes = Some(1 << 20);
    req.socket.recv_buffer_bytes = Some(1 << 20);
    req.socket.no_delay = true;
    req.socket.congestion = Some("cubic".into());
    let report = run_test(&server.client(req)).await.unwrap();
    let t = &report.metrics.throughput[0];
    assert!(t.received_bytes > 1_000_000);
    let sock = t.streams[0].sender_socket.as_ref().unwrap();
    // Linux doubles the requested buffer after capping the request at wmem_max / rmem_max.
    let doubled = |limit_file: &str| {
        let max: u64 = std::fs::read_to_string(limit_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        2 * max.min(1 << 20)
    };
    assert_eq!(
        sock.send_buffer_bytes,
        Some(doubled("/proc/sys/net/core/wmem_max"))
    );
    let receiver = t.streams[0].receiver_socket.as_ref().unwrap();
    assert_eq!(
        receiver.recv_buffer_bytes,
        Some(doubled("/proc/sys/net/core/rmem_max"))
    );
    assert_eq!(sock.no_delay, Some(true));
    assert_eq!(sock.congestion.as_deref(), Some("cubic"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_stream_counts_every_datagram_both_ways() {
    let server = TestServer::start(ServerConfig::default()).await;
    for flow in [Flow::Forward, Flow::Reverse] {
        let mut req = short(TestKind::UdpStream);
        req.flow = flow;
        req.rate = Some(100_000_000);
        let report = run_test(&server.client(req)).await.unwrap();
        assert_schema_valid(&report);
        let udp = report.metrics.udp.as_ref().expect("udp metrics");
        // 100 Mbit/s of 1400-byte datagrams for 0.7 s (window + tail) is about 6250.
        assert!(
            (5_000..=7_000).contains(&udp.sent_datagrams),
            "{flow:?} {udp:?}"
        );
        assert!(udp.loss_ratio < 0.01, "{flow:?} {udp:?}");
        assert_eq!(
            udp.received_datagrams + udp.lost_datagrams,
            udp.sent_datagrams
        );
        // Socket drops are part of the loss (the rest, on loopback, could only be a send the
        // sending host refused with ENOBUFS).
        let socket_drops = udp.receiver_socket_drops.expect("SO_MEMINFO on Linux");
        assert!(socket_drops <= udp.lost_datagrams, "{flow:?} {udp:?}");
        let t = &report.metrics.throughput[0];
        assert!(
            (t.bits_per_sec - 100e6).abs() / 100e6 < 0.1,
            "{flow:?} {}",
            t.bits_per_sec
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_response_tests_give_ordered_percentiles() {
    let server = TestServer::start(ServerConfig::default()).await;
    for kind in [TestKind::TcpRr, TestKind::UdpRr, TestKind::TcpCrr] {
        let report = run_test(&server.client(short(kind))).await.unwrap();
        assert_schema_valid(&report);
        let lat = report.metrics.latency.as_ref().expect("latency");
        let s = lat.rtt_summary.as_ref().expect("summary");
        assert!(lat.transactions > 100, "{kind:?}: {}", lat.transactions);
        assert_eq!(s.count, lat.transactions);
        assert!(
            s.min_ns > 0 && s.min_ns <= s.p50_ns && s.p50_ns <= s.p99_ns && s.p99_ns <= s.max_ns
        );
        let tx: u64 = report.intervals.iter().filter_map(|i| i.transactions).sum();
        assert_eq!(tx, lat.transactions);
        if kind == TestKind::TcpCrr {
            let connect = lat.connect.as_ref().expect("connect histogram");
            assert_eq!(connect.count(), lat.transactions);
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_keeps_its_schedule_and_both_histograms() {
    let server = TestServer::start(ServerConfig::default()).await;
    for kind in [TestKind::TcpRr, TestKind::UdpRr] {
        let mut req = short(kind);
        req.rate = Some(2000);
        let report = run_test(&server.client(req)).await.unwrap();
        let lat = report.metrics.latency.as_ref().unwrap();
        // 2000/s for 0.6 s: 1200 requests scheduled inside the window.
        assert!(
            (1150..=1200).contains(&lat.transactions),
            "{kind:?} {}",
            lat.transactions
        );
        let raw = lat.rtt_uncorrected.as_ref().expect("uncorrected histogram");
        assert_eq!(raw.count(), lat.transactions);
        // Corrected latency is measured from an earlier point, so never below the raw one.
        assert!(lat.rtt.value_at_quantile(0.5) >= raw.value_at_quantile(0.5));
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_checked_both_ways() {
    let key = PreSharedKey::new("right").unwrap();
    let server = TestServer::start(ServerConfig {
        psk: Some(key.clone()),
        ..Default::default()
    })
    .await;
    let mut good = server.client(short(TestKind::TcpRr));
    good.psk = Some(key);
    assert!(run_test(&good).await.is_ok());

    let none = server.client(short(TestKind::TcpRr));
    assert!(matches!(
        run_test(&none).await,
        Err(NetError::KeyRequired(_))
    ));

    let mut wrong = server.client(short(TestKind::TcpRr));
    wrong.psk = PreSharedKey::new("wrong");
    match run_test(&wrong).await {
        Err(NetError::Refused(Refusal::AuthFailed)) => {}
        other => panic!("expected AuthFailed, got {other:?}"),
    }
    let summary = server.stop().await;
    // The keyless client hangs up after the hello; the wrong key is refused.
    assert_eq!((summary.completed, summary.refused), (1, 2));

    // A client with a key refuses a server without one.
    let open = TestServer::start(ServerConfig::default()).await;
    let mut keyed = open.client(short(TestKind::TcpRr));
    keyed.psk = PreSharedKey::new("k");
    assert!(matches!(
        run_test(&keyed).await,
        Err(NetError::ServerUnauthenticated(_))
    ));
    open.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caps_are_refused_with_their_name() {
    let server = TestServer::start(ServerConfig {
        limits: ServerLimits {
            max_duration: Duration::from_secs(2),
            max_streams: 2,
            max_udp_rate_bits_per_sec: 10_000_000,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let mut long = short(TestKind::TcpStream);
    long.duration_ms = 5_000;
    let err = run_test(&server.client(long)).await.unwrap_err();
    assert!(
        matches!(err, NetError::Refused(Refusal::Duration { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("--max-duration"));

    let mut wide = short(TestKind::TcpStream);
    wide.streams = 3;
    let err = run_test(&server.client(wide)).await.unwrap_err();
    assert!(matches!(
        err,
        NetError::Refused(Refusal::Streams {
            requested: 3,
            cap: 2
        })
    ));

    let mut fast = short(TestKind::UdpStream);
    fast.rate = Some(1_000_000_000);
    let err = run_test(&server.client(fast)).await.unwrap_err();
    assert!(matches!(err, NetError::Refused(Refusal::Rate { .. })));

    // A refill test counts its drain and every re-burst at the cap, plus the idle times.
    let mut refill = short(TestKind::TcpStream);
    refill.duration_ms = 900;
    refill.baseline_hold_ms = Some(600);
    refill.refill_idle_ms = vec![300];
    let err = run_test(&server.client(refill)).await.unwrap_err();
    assert!(
        matches!(
            err,
            NetError::Refused(Refusal::RefillDuration {
                requested_ms: 2_100,
                phases: 2,
                cap_ms: 2_000
            })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("--refill idle times"), "{err}");
    server.stop().await;
}

/// Loopback has no bucket: the drain runs to its cap and says so, and the client ends the
/// refill test there (or, should the loopback rate have stepped down, runs the re-burst).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refill_test_without_a_bucket_ends_after_the_drain() {
    let server = TestServer::start(ServerConfig::default()).await;
    let mut req = short(TestKind::TcpStream);
    req.duration_ms = 1_500;
    req.baseline_hold_ms = Some(600);
    req.refill_idle_ms = vec![300];
    for flow in [Flow::Forward, Flow::Reverse] {
        req.flow = flow;
        let report = run_test(&server.client(req.clone())).await.unwrap();
        assert_schema_valid(&report);
        let refill = report.metrics.refill.as_ref().expect("a refill section");
        let expected_dir = match flow {
            Flow::Forward => Direction::ClientToServer,
            _ => Direction::ServerToClient,
        };
        assert_eq!(refill.direction, expected_dir);
        match refill.verdict {
            probe_core::refill::RefillVerdict::NoBucket => {
                assert!(refill.rebursts.is_empty());
                assert!(
                    refill.summary.starts_with("no refill measured"),
                    "{}",
                    refill.summary
                );
            }
            _ => assert_eq!(refill.rebursts.len(), 1, "{}", refill.summary),
        }
        assert_eq!(
            report.test.parameters["refill_idle_ns"],
            serde_json::json!([300_000_000])
        );
    }
    // The server is still serving after both.
    assert!(run_test(&server.client(short(TestKind::TcpRr)))
        .await
        .is_ok());
    let summary = server.stop().await;
    assert_eq!(summary.completed, 3);
}

/// Issue 24, item 2: a shared-bucket test is one session of two phases, the drain and then
/// the other direction on new data connections (or, for UDP, the same socket pair), so a
/// `--once` server serves all of it. Loopback has no bucket: both phases run to their cap and
/// the verdict is undecided, but the other direction was measured, flowing the other way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_once_server_serves_both_phases_of_a_shared_bucket_test() {
    for (kind, flow) in [
        (TestKind::TcpStream, Flow::Forward),
        (TestKind::UdpStream, Flow::Reverse),
    ] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let config = ServerConfig {
            once: true,
            ..Default::default()
        };
        let handle = tokio::spawn(serve(listener, config, std::future::pending));
        let mut req = short(kind);
        req.duration_ms = 1_600;
        req.baseline_hold_ms = Some(600);
        req.shared_bucket = true;
        req.flow = flow;
        if kind == TestKind::UdpStream {
            req.rate = Some(200_000_000);
        }
        let report = run_test(&ClientConfig::new(addr.to_string(), req))
            .await
            .unwrap_or_else(|e| panic!("{kind:?} {flow:?}: {e}"));
        assert_schema_valid(&report);
        let sharing = report
            .metrics
            .bucket_sharing
            .as_ref()
            .expect("the shared-bucket answer");
        let drained = match flow {
            Flow::Forward => Direction::ClientToServer,
            _ => Direction::ServerToClient,
        };
        assert_eq!(sharing.drained, drained);
        assert_eq!(report.metrics.throughput[0].direction, drained);
        assert_eq!(report.test.parameters["shared_bucket"], true);
        // The other direction carried data for about its cap.
        let ran_ns = match &sharing.other {
            probe_core::regime::Regime::Flat {
                bits_per_sec,
                ran_ns,
                ..
            } => {
                assert!(*bits_per_sec > 10e6, "{kind:?} {flow:?}: {bits_per_sec}");
                *ran_ns
            }
            probe_core::regime::Regime::Undecided { ran_ns, why } => {
                assert!(!why.contains("no throughput"), "{kind:?} {flow:?}: {why}");
                *ran_ns
            }
            probe_core::regime::Regime::BurstThenBaseline(b) => b.change_ns + b.baseline_held_ns,
        };
        assert!(ran_ns >= 1_000_000_000, "{kind:?} {flow:?}: {ran_ns}");
        let summary = tokio::time::timeout(Duration::from_secs(10), handle)
            .await
            .expect("the --once server stops after the one test")
            .unwrap()
            .unwrap();
        assert_eq!((summary.completed, summary.failed), (1, 0));
    }
    // A server refuses a shared-bucket request it cannot run both ways, saying why.
    let server = TestServer::start(ServerConfig::default()).await;
    let mut bad = short(TestKind::TcpRr);
    bad.shared_bucket = true;
    let err = run_test(&server.client(bad)).await.unwrap_err();
    assert!(
        matches!(&err, NetError::Refused(Refusal::Invalid(why)) if why.contains(
            "--shared-bucket applies to one direction of tcp-stream or udp-stream, not tcp-rr"
        )),
        "{err}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_test_cap_refuses_the_extra_client() {
    let server = TestServer::start(ServerConfig {
        limits: ServerLimits {
            max_concurrent_tests: 1,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let a = server.client({
        let mut r = short(TestKind::TcpRr);
        r.duration_ms = 1500;
        r
    });
    let running = tokio::spawn(async move { run_test(&a).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // With no retry budget the refusal names the cap...
    let mut impatient = server.client(short(TestKind::TcpRr));
    impatient.connect_retry = Duration::ZERO;
    let err = run_test(&impatient).await.unwrap_err();
    assert!(
        matches!(err, NetError::Refused(Refusal::Busy { cap: 1 })),
        "{err}"
    );
    // ...and with one (the default), the client retries until the slot frees (issue 14).
    let started = std::time::Instant::now();
    run_test(&server.client(short(TestKind::TcpRr)))
        .await
        .expect("served once the first test ended");
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(running.await.unwrap().is_ok());
    server.stop().await;
}

async fn raw_exchange(addr: SocketAddr, bytes: &[u8]) -> Option<Message> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut header = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut header))
        .await
        .ok()?
        .ok()?;
    let len = u32::from_be_bytes(header) as usize;
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await.ok()?;
    netprobe::protocol::decode_body(&body).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_first_frames_are_refused_without_harm() {
    let server = TestServer::start(ServerConfig::default()).await;
    // Unknown protocol version.
    let hello = encode_frame(&Message::ClientHello {
        magic: MAGIC,
        version: 999,
        nonce: [0; 32],
    });
    assert_eq!(
        raw_exchange(server.addr, &hello).await,
        Some(Message::Refused(Refusal::UnsupportedVersion {
            client: 999,
            server: netprobe::protocol::PROTOCOL_VERSION
        }))
    );
    // Wrong magic.
    let bad = encode_frame(&Message::ClientHello {
        magic: *b"GET / HT",
        version: 1,
        nonce: [0; 32],
    });
    assert_eq!(
        raw_exchange(server.addr, &bad).await,
        Some(Message::Refused(Refusal::BadMagic))
    );
    // A 1 GiB length prefix: the server drops the connection without allocating or answering.
    assert_eq!(
        raw_exchange(server.addr, &(1u32 << 30).to_be_bytes()).await,
        None
    );
    // Garbage.
    assert_eq!(
        raw_exchange(server.addr, b"\x00\x00\x00\x05hello").await,
        None
    );
    // The server still serves a real client afterwards.
    assert!(run_test(&server.client(short(TestKind::TcpRr)))
        .await
        .is_ok());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_client_leaves_the_server_serving_correctly() {
    let server = TestServer::start(ServerConfig::default()).await;
    let mut req = short(TestKind::TcpStream);
    req.duration_ms = 1000;
    let doomed = server.client(req);
    let task = tokio::spawn(async move { run_test(&doomed).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    task.abort(); // drops control and data sockets mid-test
    let _ = task.await;
    let report = run_test(&server.client(short(TestKind::TcpStream)))
        .await
        .unwrap();
    assert!(report.metrics.throughput[0].received_bytes > 1_000_000);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_stops_after_one_test_and_keeps_its_report() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = ServerConfig {
        once: true,
        run_id: Some("r1".into()),
        ..Default::default()
    };
    let handle = tokio::spawn(serve(listener, config, std::future::pending));
    run_test(&ClientConfig::new(
        addr.to_string(),
        short(TestKind::TcpStream),
    ))
    .await
    .unwrap();
    let summary = tokio::time::timeout(Duration::from_secs(10), handle)
        .await
        .expect("server stops by itself")
        .unwrap()
        .unwrap();
    let report = summary.last_report.expect("server report");
    assert_schema_valid(&report);
    assert_eq!(report.run_id.as_deref(), Some("r1"));
    assert_eq!(report.role, probe_core::Role::Server);
    assert!(report.metrics.throughput[0].received_bytes > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_with_an_idle_timeout_gives_up_when_no_client_comes() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = ServerConfig {
        once: true,
        idle_timeout: Some(Duration::from_millis(300)),
        ..Default::default()
    };
    let summary = tokio::time::timeout(
        Duration::from_secs(5),
        serve(listener, config, std::future::pending),
    )
    .await
    .expect("server gives up by itself")
    .unwrap();
    assert!(summary.idle_timed_out);
    assert_eq!(summary.completed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_placement_warning_only_when_threads_can_float() {
    let server = TestServer::start(ServerConfig::default()).await;
    let floating_warning = |report: &probe_core::Report| {
        report
            .warnings
            .iter()
            .any(|w| w.contains("unpinned threads"))
    };
    let mut pinned = short(TestKind::TcpStream);
    pinned.server_cpus = vec![0];
    let mut config = server.client(pinned);
    config.cpus = vec![0];
    let report = run_test(&config).await.unwrap();
    assert!(!floating_warning(&report), "{:?}", report.warnings);
    assert_eq!(
        report.test.parameters["client_cpus"],
        serde_json::json!([0])
    );

    // Unpinned, the threads float exactly when this process may use more than one CPU.
    let report = run_test(&server.client(short(TestKind::TcpStream)))
        .await
        .unwrap();
    let can_float = probe_core::host::affinity_cpu_count().unwrap() > 1;
    assert_eq!(
        floating_warning(&report),
        can_float,
        "{:?}",
        report.warnings
    );
    server.stop().await;
}
