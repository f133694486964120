//! Flags, validated into library configs before any work starts.

use std::io::Write as _;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use clap::{Parser, Subcommand};
use netprobe::{
    ClientConfig, ClientOptions, Flow, NetError, PreSharedKey, ReceiveWait, SendPath, ServerConfig,
    ServerLimits, TestKind, DEFAULT_PORT,
};
use probe_core::contract::{self, quantity};
use probe_core::result_line;

/// Network throughput and latency between two hosts.
///
/// Start `netprobe server` on one host and `netprobe client --server HOST --test KIND` on the
/// other. The client prints a human summary on stderr and one result line on stdout (or, with
/// --json, the full report as JSON). Sizes take K/M/G suffixes (binary: 128K = 131072 bytes);
/// rates take k/M/G suffixes (decimal bits per second: 1G = 10^9 bit/s).
///
/// Examples:
///   netprobe server --psk 3f9c2e7a1b5d4c60
///   netprobe client --server 10.0.1.5 --psk 3f9c2e7a1b5d4c60 --test tcp-stream -P 4 -t 30 --omit 2
///   netprobe client --server 10.0.1.5 --test udp-stream --rate 1G
///   netprobe client --server 10.0.1.5 --test tcp-rr --rate 10000   (open loop, 10k req/s)
///   netprobe client --server 10.0.1.5 --time 1200 --refill 30s,120s  (how fast the bucket refills)
///   netprobe client --server 10.0.1.5 --time 1200 --until-baseline --latency-under-load 50
///                                         (does the limit queue or drop: round trips per regime)
#[derive(Debug, Parser)]
#[command(name = "netprobe", version, verbatim_doc_comment)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve tests until stopped (Ctrl-C, SIGTERM) or, with --once, after one test.
    Server(ServerArgs),
    /// Run one test against a server and report it.
    Client(Box<ClientArgs>),
}

#[derive(Debug, clap::Args)]
struct ServerArgs {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    bind: String,
    /// Control port.
    #[arg(long, short, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Pre-shared key clients must prove (HMAC-SHA256 over fresh nonces); at least 16
    /// characters. Failed proofs from an address make it wait, longer each time.
    #[arg(long, env = contract::PSK_ENV, hide_env_values = true)]
    psk: Option<String>,
    /// Accept a key shorter than 16 characters (it can be guessed).
    #[arg(long)]
    allow_weak_key: bool,
    /// Exit after the first accepted test and print its server-side result line.
    #[arg(long)]
    once: bool,
    /// CPUs for data threads, e.g. `1` or `0-3` (clients may ask for others).
    #[arg(long, value_name = "LIST")]
    cpus: Option<String>,
    /// Longest test accepted, warm-up included, in seconds.
    #[arg(long, default_value_t = 1800)]
    max_duration: u64,
    /// Most parallel streams in one test.
    #[arg(long, default_value_t = 128)]
    max_streams: u32,
    /// Highest UDP rate accepted, bits per second (k/M/G suffixes).
    #[arg(long, default_value = "25G")]
    max_rate: String,
    /// Most tests served at once.
    #[arg(long, default_value_t = 8)]
    max_tests: u32,
    /// Memory all running tests' buffers may take together (streams x message size, k/M/G
    /// suffixes); a test beyond what is free is refused, naming it. Default: half the cgroup's
    /// memory limit (the task's), else half the host's memory.
    #[arg(long, value_name = "BYTES")]
    memory_budget: Option<String>,
    /// On SIGTERM or Ctrl-C, new tests are refused at once and running tests get this many
    /// seconds to finish; a second signal ends them at once. Clients are told why.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    drain: f64,
    /// Run id recorded in server reports.
    #[arg(long)]
    run_id: Option<String>,
    /// With --once: exit with an error if no test starts within this many seconds.
    #[arg(long, value_name = "SECS")]
    idle_timeout: Option<u64>,
    /// With --once: print the server report as pretty JSON instead of a result line.
    #[arg(long)]
    json: bool,
}

/// `--test` takes the contract's kinds, by their names.
fn test_kinds() -> impl clap::builder::TypedValueParser<Value = TestKind> {
    PossibleValuesParser::new(TestKind::ALL.map(TestKind::name))
        .map(|name| name.parse::<TestKind>().expect("a listed name"))
}

/// `--receive-wait` takes the contract's modes, by their names.
fn receive_waits() -> impl clap::builder::TypedValueParser<Value = ReceiveWait> {
    PossibleValuesParser::new(ReceiveWait::ALL.map(ReceiveWait::name))
        .map(|name| name.parse::<ReceiveWait>().expect("a listed name"))
}

/// `--send-path` takes the contract's paths, by their names.
fn send_paths() -> impl clap::builder::TypedValueParser<Value = SendPath> {
    PossibleValuesParser::new(SendPath::ALL.map(SendPath::name))
        .map(|name| name.parse::<SendPath>().expect("a listed name"))
}

#[derive(Debug, clap::Args)]
struct ClientArgs {
    /// Server as HOST or HOST:PORT.
    #[arg(long, short = 'c')]
    server: String,
    /// Test to run.
    #[arg(long, value_parser = test_kinds(), default_value = "tcp-stream")]
    test: TestKind,
    /// Measured duration in seconds (warm-up not included).
    #[arg(long, short = 't', default_value_t = 10.0)]
    time: f64,
    /// Warm-up in seconds, run but excluded from every figure.
    #[arg(long, default_value_t = 0.0)]
    omit: f64,
    /// Interval sample length in seconds (0.1 to 10).
    #[arg(long, short = 'i', default_value_t = 1.0)]
    interval: f64,
    /// tcp-stream, udp-stream: run until the network's burst has ended and its baseline has
    /// held --baseline-hold seconds, then stop (both sides agree); --time is then the cap.
    /// On a token-bucket network (Fargate) this measures burst, its length and the baseline
    /// without paying for a fixed long run.
    #[arg(long)]
    until_baseline: bool,
    /// With --until-baseline, --refill or --shared-bucket: seconds the baseline must hold
    /// before a burst counts as over.
    #[arg(long, value_name = "SECS", default_value_t = probe_core::contract::defaults::BASELINE_HOLD_SECS)]
    baseline_hold: f64,
    /// tcp-stream refill test: drain the bucket until the baseline holds (as --until-baseline),
    /// then for each idle time stay quiet that long and burst again until the baseline is back.
    /// Reports the bytes each re-burst sent above the baseline, the refill rate (those bytes
    /// over the quiet time) and whether recovery stops at the bucket. Idle times like 30s, 2m
    /// or 500ms, each at most --time; --time caps the drain and each re-burst.
    #[arg(
        long,
        value_name = "IDLE,...",
        value_delimiter = ',',
        allow_hyphen_values = true
    )]
    refill: Vec<String>,
    /// tcp-stream, udp-stream: send a traffic pattern, steps of RATE:TIME from the start
    /// (`400M:2s,0:3s,100M:5s`; 0 is a pause), then nothing. On tcp-stream what the path
    /// cannot take yet waits in the sender and goes as soon as the path allows (an
    /// application's queue); on udp-stream it is the datagram schedule. At most --time long.
    #[arg(long, value_name = "RATE:TIME,...", conflicts_with = "rate")]
    rate_profile: Option<String>,
    /// One bucket or two (tcp-stream, udp-stream): drain this direction until its baseline
    /// holds (as --until-baseline), then at once run the other direction until its own
    /// baseline holds, and say whether inbound and outbound share one token bucket. One test
    /// of two phases (a --once server serves it); --time caps each.
    #[arg(long)]
    shared_bucket: bool,
    /// tcp-stream, one direction: latency under load. Beside the stream, send this many small
    /// round-trip probes a second on a UDP flow of their own to the server (the data port's
    /// number), and report their round trips and losses for the burst and the baseline
    /// separately, with the stream's retransmits: whether the limit queues (round trips grow)
    /// or drops (probes lost, round trips flat). 50 resolves a queue's growth within a
    /// second; use with --until-baseline on a token-bucket network. The stream runs cubic
    /// unless --congestion says otherwise: a loss-based sender fills whatever queue the limit
    /// keeps (BBR keeps it short, hiding a shaper).
    #[arg(long, value_name = "PER_SEC")]
    latency_under_load: Option<u32>,
    /// Parallel streams (TCP tests).
    #[arg(long, short = 'P', default_value_t = 1)]
    parallel: u32,
    /// Server sends, client receives.
    #[arg(long, short = 'R', conflicts_with = "bidir")]
    reverse: bool,
    /// Both directions at once, on separate connections.
    #[arg(long)]
    bidir: bool,
    /// Write size (tcp-stream), datagram size (udp-stream) or request size (rr tests).
    #[arg(long, short = 'l')]
    length: Option<String>,
    /// Response size for rr tests.
    #[arg(long)]
    response_size: Option<String>,
    /// udp-stream: bits per second (k/M/G), or `unlimited` (client sends only). rr tests:
    /// requests per second, open loop.
    #[arg(long, short = 'b')]
    rate: Option<String>,
    /// SO_SNDBUF and SO_RCVBUF of data sockets (the kernel doubles and clamps; read back).
    #[arg(long, short = 'w')]
    window: Option<String>,
    /// TCP maximum segment size.
    #[arg(long, short = 'M')]
    mss: Option<u32>,
    /// Set TCP_NODELAY on bulk streams (always on for rr tests).
    #[arg(long, short = 'N')]
    no_delay: bool,
    /// TCP congestion control, e.g. cubic or bbr.
    #[arg(long, short = 'C')]
    congestion: Option<String>,
    /// No user-space copies on either side (tcp-stream): the sender splices (as
    /// `--send-path splice`) and the receiver discards in the kernel (MSG_TRUNC), so the
    /// receiver's CPU per byte is no longer an application's.
    #[arg(long, short = 'Z')]
    zerocopy: bool,
    /// How tcp-stream senders (on both sides) hand their payload to the socket. `auto` splices
    /// the payload's pages by reference (tee + splice from a pipe) where a pipe holds one write,
    /// else copies: a quarter to a third less sender CPU per byte, the same bytes on the wire,
    /// so a probe under a small CPU quota measures the network rather than its copy loop.
    /// `copy` writes from user space, as most applications do; `splice` insists (a memfd past
    /// a pipe's size). The report says which path each side took.
    #[arg(long, value_parser = send_paths(), default_value = "auto")]
    send_path: SendPath,
    /// How bulk receivers (tcp-stream, udp-stream) wait for data on both sides. `auto` polls
    /// where every data thread has a CPU of its own, which spares the sender the cost of
    /// waking the receiver; `block` sleeps in the kernel, so receiver CPU time is the true
    /// cost per byte.
    #[arg(long, value_parser = receive_waits(), default_value = "auto")]
    receive_wait: ReceiveWait,
    /// Closed-loop tcp-rr and udp-rr: the waiting side of each round trip (this client for the
    /// response, the server for the request) spins on non-blocking receives instead of sleeping,
    /// so a round trip pays no wake-ups; SO_BUSY_POLL is set where allowed. Costs each side a
    /// CPU while the test runs: the report gives the CPU time per round trip. Not for
    /// fractional-vCPU tasks, whose quota the spinning spends.
    #[arg(long)]
    busy_poll: bool,
    /// CPUs for the client's data threads, e.g. `0` or `0-1`.
    #[arg(long, value_name = "LIST")]
    cpus: Option<String>,
    /// CPUs for the server's data threads.
    #[arg(long, value_name = "LIST")]
    server_cpus: Option<String>,
    /// udp-rr: a request without an answer after this many ms counts as lost.
    #[arg(long, default_value_t = 100)]
    timeout_ms: u64,
    /// Pre-shared key to prove to the server (at least 16 characters).
    #[arg(long, env = contract::PSK_ENV, hide_env_values = true)]
    psk: Option<String>,
    /// Accept a key shorter than 16 characters (it can be guessed).
    #[arg(long)]
    allow_weak_key: bool,
    /// Run id recorded in the report.
    #[arg(long)]
    run_id: Option<String>,
    /// Local address the control connection comes from (a host with several addresses).
    #[arg(long, value_name = "IP")]
    bind_source: Option<std::net::IpAddr>,
    /// Print the full report as pretty JSON instead of summary and result line.
    #[arg(long)]
    json: bool,
}

/// A validated command.
#[derive(Debug)]
pub(crate) enum Validated {
    Server {
        config: ServerConfig,
        bind: String,
        json: bool,
    },
    Client {
        config: ClientConfig,
        json: bool,
    },
}

impl Args {
    pub(crate) fn into_command(self) -> Result<Validated> {
        match self.command {
            Command::Server(a) => {
                let limits = ServerLimits {
                    max_duration: Duration::from_secs(a.max_duration),
                    max_streams: a.max_streams,
                    max_udp_rate_bits_per_sec: quantity::parse_rate(&a.max_rate)
                        .context("--max-rate")?,
                    max_concurrent_tests: a.max_tests.max(1),
                    memory_budget_bytes: match a.memory_budget.as_deref() {
                        Some(text) => quantity::parse_bytes(text).context("--memory-budget")?,
                        None => netprobe::limits::default_memory_budget(),
                    },
                    ..Default::default()
                };
                if !(a.drain.is_finite() && (0.0..=3600.0).contains(&a.drain)) {
                    bail!(NetError::Config(format!(
                        "--drain {} is not a time from 0 to 3600 seconds",
                        a.drain
                    )));
                }
                Ok(Validated::Server {
                    bind: format!("{}:{}", bracket(&a.bind), a.port),
                    config: ServerConfig {
                        limits,
                        psk: key(a.psk, a.allow_weak_key)?,
                        cpus: cpus(a.cpus.as_deref()).context("--cpus")?,
                        once: a.once,
                        run_id: a.run_id,
                        idle_timeout: a.idle_timeout.map(Duration::from_secs),
                        drain: Some(Duration::from_secs_f64(a.drain)),
                    },
                    json: a.json,
                })
            }
            Command::Client(a) => client_config(*a),
        }
    }
}

fn bracket(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

fn key(psk: Option<String>, allow_weak: bool) -> Result<Option<PreSharedKey>> {
    match psk {
        None => Ok(None),
        Some(k) => {
            if k.is_empty() {
                bail!("--psk is empty; give a non-empty key or leave it out");
            }
            if let Err(why) = netprobe::auth::check_strength(&k) {
                if !allow_weak {
                    bail!("--psk (or NETPROBE_PSK): {why}");
                }
                eprintln!("netprobe: warning: {why}");
            }
            Ok(PreSharedKey::new(k))
        }
    }
}

/// The flags as the contract's options (what the controller builds from a suite entry).
fn client_options(a: &ClientArgs) -> Result<ClientOptions> {
    Ok(ClientOptions {
        kind: a.test,
        duration_secs: a.time,
        omit_secs: a.omit,
        interval_secs: a.interval,
        streams: a.parallel,
        flow: match (a.reverse, a.bidir) {
            (true, _) => Flow::Reverse,
            (_, true) => Flow::Bidirectional,
            _ => Flow::Forward,
        },
        length: a.length.clone(),
        response_size: a.response_size.clone(),
        rate: a.rate.clone(),
        window: a.window.clone(),
        mss: a.mss,
        no_delay: a.no_delay,
        congestion: a.congestion.clone(),
        zerocopy: a.zerocopy,
        receive_wait: a.receive_wait,
        send_path: a.send_path,
        server_cpus: cpus(a.server_cpus.as_deref()).context("--server-cpus")?,
        timeout_ms: a.timeout_ms,
        until_baseline: a.until_baseline,
        baseline_hold_secs: a.baseline_hold,
        refill: a.refill.clone(),
        busy_poll: a.busy_poll,
        rate_profile: a.rate_profile.clone(),
        latency_under_load: a.latency_under_load,
        shared_bucket: a.shared_bucket,
    })
}

fn client_config(a: ClientArgs) -> Result<Validated> {
    let options = client_options(&a)?;
    // The one check every side runs (the server and the controller's suite loader too).
    let request = options.to_request()?;
    let mut config = ClientConfig::new(a.server, request);
    config.psk = key(a.psk, a.allow_weak_key)?;
    config.cpus = cpus(a.cpus.as_deref()).context("--cpus")?;
    config.run_id = a.run_id;
    config.bind_source = a.bind_source;
    Ok(Validated::Client {
        config,
        json: a.json,
    })
}

/// `0-3,5` into CPU numbers.
fn cpus(list: Option<&str>) -> Result<Vec<u32>> {
    match list {
        None => Ok(Vec::new()),
        Some(l) => probe_core::host::parse_cpu_list(l)
            .with_context(|| format!("{l:?} is not a CPU list; write it like 0 or 0-3,6")),
    }
}

/// Stdout was closed by its reader (`netprobe ... | head`): a quiet end, unlike any other
/// broken pipe (a peer that vanished mid-test is a failure, and must never exit 0).
#[derive(Debug)]
pub(crate) struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stdout was closed by its reader")
    }
}

impl std::error::Error for StdoutClosed {}

fn stdout_error(e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        StdoutClosed.into()
    } else {
        anyhow::Error::new(e).context("writing the report to stdout")
    }
}

fn print_report(report: &probe_core::Report, json: bool) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    if json {
        let text = serde_json::to_string_pretty(report)?;
        writeln!(stdout, "{text}").map_err(stdout_error)?;
    } else {
        eprint!("{}", netprobe::report::human_summary(report));
        writeln!(stdout, "{}", result_line::encode(report)?).map_err(stdout_error)?;
    }
    stdout.flush().map_err(stdout_error)?;
    Ok(())
}

pub(crate) async fn run(command: Validated) -> Result<()> {
    match command {
        Validated::Server { config, bind, json } => {
            let listener = tokio::net::TcpListener::bind(&bind)
                .await
                .with_context(|| format!("cannot listen on {bind}; is the port in use?"))?;
            let addr = listener.local_addr()?;
            eprintln!(
                "{}",
                contract::server_ready_line(&addr.to_string(), config.psk.is_some(), config.once)
            );
            let once = config.once;
            let summary = netprobe::serve(listener, config, netprobe::shutdown_signal).await?;
            eprintln!(
                "netprobe server stopped: {} completed, {} refused, {} failed",
                summary.completed, summary.refused, summary.failed
            );
            if summary.idle_timed_out {
                bail!("no client started a test within --idle-timeout; giving up");
            }
            if once {
                match summary.last_report {
                    Some(report) => print_report(&report, json)?,
                    None => bail!("no test completed"),
                }
            }
            Ok(())
        }
        Validated::Client { config, json } => {
            let report = tokio::select! {
                r = netprobe::run_test(&config) => r?,
                _ = netprobe::shutdown_signal() => bail!("interrupted before the test finished"),
            };
            print_report(&report, json)
        }
    }
}

/// 2 for usage and setup errors, 1 for measurement and peer failures.
pub(crate) fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<NetError>() {
        Some(NetError::Config(_)) => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netprobe::ReceiveWait;

    fn parse(args: &[String]) -> ClientOptions {
        let mut argv = vec!["netprobe", "client", "--server", "h"];
        argv.extend(args.iter().map(String::as_str));
        let Command::Client(a) = Args::try_parse_from(argv).unwrap().command else {
            panic!("not a client command")
        };
        client_options(&a).unwrap()
    }

    /// The controller hands probes `ClientOptions::to_args`: whatever it builds, these flags
    /// parse back into the same options.
    #[test]
    fn the_controllers_arguments_parse_back_into_the_same_options() {
        let mut cases = Vec::new();
        for kind in TestKind::ALL {
            cases.push(ClientOptions::new(kind));
        }
        let mut o = ClientOptions::new(TestKind::TcpStream);
        o.duration_secs = 2.5;
        o.omit_secs = 0.5;
        o.interval_secs = 0.25;
        o.streams = 4;
        o.flow = Flow::Bidirectional;
        o.length = Some("64K".into());
        o.window = Some("4M".into());
        o.mss = Some(1400);
        o.no_delay = true;
        o.congestion = Some("cubic".into());
        o.zerocopy = true;
        o.receive_wait = ReceiveWait::Block;
        o.server_cpus = vec![1, 3];
        cases.push(o);
        for kind in [TestKind::TcpRr, TestKind::UdpRr] {
            let mut o = ClientOptions::new(kind);
            o.busy_poll = true;
            cases.push(o);
        }
        let mut o = ClientOptions::new(TestKind::UdpRr);
        o.rate = Some("20k".into());
        o.response_size = Some("1K".into());
        o.timeout_ms = 250;
        cases.push(o);
        let mut o = ClientOptions::new(TestKind::UdpStream);
        o.flow = Flow::Reverse;
        o.rate = Some("500M".into());
        cases.push(o);
        let mut o = ClientOptions::new(TestKind::TcpStream);
        o.until_baseline = true;
        o.duration_secs = 1200.0;
        o.baseline_hold_secs = 30.0;
        o.interval_secs = 0.5;
        cases.push(o);
        let mut o = ClientOptions::new(TestKind::TcpStream);
        o.refill = vec!["4s".into(), "20s".into()];
        o.duration_secs = 60.0;
        o.baseline_hold_secs = 3.0;
        o.interval_secs = 0.2;
        cases.push(o);
        let mut o = ClientOptions::new(TestKind::TcpStream);
        o.rate_profile = Some("150M:3s,0:3s".into());
        cases.push(o);
        let mut o = ClientOptions::new(TestKind::TcpStream);
        o.until_baseline = true;
        o.duration_secs = 120.0;
        o.baseline_hold_secs = 5.0;
        o.latency_under_load = Some(50);
        o.flow = Flow::Reverse;
        cases.push(o);
        for options in cases {
            assert_eq!(parse(&options.to_args()), options);
        }
    }

    #[test]
    fn bad_values_name_the_flag() {
        let err = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            parse(&args).to_request().unwrap_err().to_string()
        };
        assert!(err(&["--length", "lots"]).contains("--length \"lots\""));
        assert!(err(&["--test", "udp-stream", "--rate", "unlimited", "-R"]).contains("--reverse"));
        assert!(err(&["--rate", "1G"]).contains("tcp-stream"));
        // Idle times: the value and the fix, whichever way they are wrong.
        assert!(err(&["--refill", "-4s"]).contains("--refill \"-4s\" is a negative time"));
        assert!(err(&["--refill=4s,-20s"]).contains("--refill \"-20s\" is a negative time"));
        assert!(err(&["--refill", "4s,later"]).contains("--refill \"later\" is not a time"));
        assert!(err(&["--refill", "0s"]).contains("refill idle time of 0 s is too short"));
        assert!(err(&["--time", "60", "--refill", "90s"])
            .contains("refill idle time of 90 s is longer than the test's cap of 60 s (--time)"));
        assert!(err(&["--test", "udp-stream", "--refill", "4s"]).contains("not udp-stream"));
        assert!(err(&["--busy-poll"]).contains("--busy-poll applies to closed-loop"));
        assert!(err(&["--test", "tcp-rr", "--busy-poll", "--rate", "1000"])
            .contains("with --rate (open loop)"));
        assert!(err(&["--rate-profile", "150M:3s,0"]).contains("has a step \"0\" without a `:`"));
        assert!(err(&["--rate-profile", "150M:30s"]).contains("longer than the test's 10 s"));
    }

    #[test]
    fn shared_bucket_needs_a_drain_in_one_direction() {
        let err = |args: &[&str]| {
            let mut argv = vec!["netprobe", "client", "--server", "h", "--shared-bucket"];
            argv.extend_from_slice(args);
            let e = Args::try_parse_from(argv)
                .unwrap()
                .into_command()
                .unwrap_err();
            format!("{e:#}")
        };
        // It implies until-baseline: the default hold (60 s) does not fit the default --time.
        assert!(err(&[]).contains("a baseline hold of 60000 ms"));
        assert!(err(&["--test", "tcp-rr"]).contains(
            "--shared-bucket applies to one direction of tcp-stream or udp-stream, not tcp-rr"
        ));
        assert!(err(&["--bidir", "--time", "120"]).contains("not --bidir"));
        assert!(err(&["--refill", "4s", "--time", "120"]).contains("without --refill"));
        let ok = Args::try_parse_from([
            "netprobe",
            "client",
            "--server",
            "h",
            "--shared-bucket",
            "--time",
            "120",
            "--baseline-hold",
            "3",
        ])
        .unwrap()
        .into_command()
        .unwrap();
        let Validated::Client { config, .. } = ok else {
            panic!("a client");
        };
        assert!(config.request.shared_bucket);
        assert_eq!(config.request.baseline_hold_ms, Some(3_000));
    }
}
