//! Flags, validated into library configs before any work starts.

use std::io::Write as _;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use clap::{Parser, Subcommand, ValueEnum};
use netprobe::{
    ClientConfig, Flow, NetError, PreSharedKey, ReceiveWait, ServerConfig, ServerLimits, TestKind,
    TestRequest, DEFAULT_PORT,
};
use probe_core::result_line;

/// Network throughput and latency between two hosts.
///
/// Start `netprobe server` on one host and `netprobe client --server HOST --test KIND` on the
/// other. The client prints a human summary on stderr and one result line on stdout (or, with
/// --json, the full report as JSON). Sizes take K/M/G suffixes (binary: 128K = 131072 bytes);
/// rates take k/M/G suffixes (decimal bits per second: 1G = 10^9 bit/s).
///
/// Examples:
///   netprobe server --psk s3cret
///   netprobe client --server 10.0.1.5 --psk s3cret --test tcp-stream -P 4 -t 30 --omit 2
///   netprobe client --server 10.0.1.5 --test udp-stream --rate 1G
///   netprobe client --server 10.0.1.5 --test tcp-rr --rate 10000   (open loop, 10k req/s)
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
    /// Pre-shared key clients must prove (HMAC-SHA256 over fresh nonces).
    #[arg(long, env = "NETPROBE_PSK", hide_env_values = true)]
    psk: Option<String>,
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

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Wait {
    Auto,
    Poll,
    Block,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Kind {
    TcpStream,
    UdpStream,
    TcpRr,
    UdpRr,
    TcpCrr,
}

#[derive(Debug, clap::Args)]
struct ClientArgs {
    /// Server as HOST or HOST:PORT.
    #[arg(long, short = 'c')]
    server: String,
    /// Test to run.
    #[arg(long, value_enum, default_value = "tcp-stream")]
    test: Kind,
    /// Measured duration in seconds (warm-up not included).
    #[arg(long, short = 't', default_value_t = 10.0)]
    time: f64,
    /// Warm-up in seconds, run but excluded from every figure.
    #[arg(long, default_value_t = 0.0)]
    omit: f64,
    /// Interval sample length in seconds.
    #[arg(long, short = 'i', default_value_t = 1.0)]
    interval: f64,
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
    /// sendfile on send and MSG_TRUNC on receive: no user-space copies (tcp-stream).
    #[arg(long, short = 'Z')]
    zerocopy: bool,
    /// How bulk receivers (tcp-stream, udp-stream) wait for data on both sides. `auto` polls
    /// where every data thread has a CPU of its own, which spares the sender the cost of
    /// waking the receiver; `block` sleeps in the kernel, so receiver CPU time is the true
    /// cost per byte.
    #[arg(long, value_enum, default_value = "auto")]
    receive_wait: Wait,
    /// CPUs for the client's data threads, e.g. `0` or `0-1`.
    #[arg(long, value_name = "LIST")]
    cpus: Option<String>,
    /// CPUs for the server's data threads.
    #[arg(long, value_name = "LIST")]
    server_cpus: Option<String>,
    /// udp-rr: a request without an answer after this many ms counts as lost.
    #[arg(long, default_value_t = 100)]
    timeout_ms: u64,
    /// Pre-shared key to prove to the server.
    #[arg(long, env = "NETPROBE_PSK", hide_env_values = true)]
    psk: Option<String>,
    /// Run id recorded in the report.
    #[arg(long)]
    run_id: Option<String>,
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
                    max_udp_rate_bits_per_sec: parse_rate(&a.max_rate).context("--max-rate")?,
                    max_concurrent_tests: a.max_tests.max(1),
                    ..Default::default()
                };
                Ok(Validated::Server {
                    bind: format!("{}:{}", bracket(&a.bind), a.port),
                    config: ServerConfig {
                        limits,
                        psk: key(a.psk)?,
                        cpus: cpus(a.cpus.as_deref()).context("--cpus")?,
                        once: a.once,
                        run_id: a.run_id,
                        idle_timeout: a.idle_timeout.map(Duration::from_secs),
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

fn key(psk: Option<String>) -> Result<Option<PreSharedKey>> {
    match psk {
        None => Ok(None),
        Some(k) => match PreSharedKey::new(k) {
            Some(key) => Ok(Some(key)),
            None => bail!("--psk is empty; give a non-empty key or leave it out"),
        },
    }
}

fn seconds(value: f64, flag: &str) -> Result<u64> {
    if !value.is_finite() || !(0.0..=86_400.0).contains(&value) {
        bail!("{flag} {value} must be between 0 and 86400 seconds");
    }
    Ok((value * 1000.0).round() as u64)
}

fn client_config(a: ClientArgs) -> Result<Validated> {
    let kind = match a.test {
        Kind::TcpStream => TestKind::TcpStream,
        Kind::UdpStream => TestKind::UdpStream,
        Kind::TcpRr => TestKind::TcpRr,
        Kind::UdpRr => TestKind::UdpRr,
        Kind::TcpCrr => TestKind::TcpCrr,
    };
    let duration_ms = seconds(a.time, "--time")?;
    if duration_ms < 100 {
        bail!("--time {} is too short; measure for at least 0.1 s", a.time);
    }
    let mut request = TestRequest::new(kind, Duration::from_millis(duration_ms));
    request.omit_ms = seconds(a.omit, "--omit")?;
    request.interval_ms = seconds(a.interval, "--interval")?.clamp(100, duration_ms.max(100));
    request.streams = a.parallel;
    if a.parallel == 0 {
        bail!("-P 0: run at least one stream");
    }
    request.flow = match (a.reverse, a.bidir) {
        (true, _) => Flow::Reverse,
        (_, true) => Flow::Bidirectional,
        _ => Flow::Forward,
    };
    if let Some(l) = &a.length {
        request.message_bytes = parse_size(l).context("--length")?;
    }
    if let Some(r) = &a.response_size {
        request.response_bytes = parse_size(r).context("--response-size")?;
    } else if matches!(kind, TestKind::TcpRr | TestKind::UdpRr | TestKind::TcpCrr) {
        request.response_bytes = request.message_bytes;
    }
    request.rate = match (&a.rate, kind) {
        (Some(r), TestKind::UdpStream) if r == "unlimited" => None,
        (Some(r), TestKind::UdpStream) => Some(parse_rate(r).context("--rate")?),
        (Some(r), TestKind::TcpStream) => {
            bail!("--rate {r} does not apply to tcp-stream; TCP runs as fast as the path allows")
        }
        (Some(r), _) => Some(parse_rate(r).context("--rate")?),
        (None, _) => request.rate,
    };
    if let Some(w) = &a.window {
        let bytes = parse_size(w).context("--window")?;
        request.socket.send_buffer_bytes = Some(bytes);
        request.socket.recv_buffer_bytes = Some(bytes);
    }
    request.socket.mss_bytes = a.mss;
    request.socket.no_delay |= a.no_delay;
    request.socket.congestion = a.congestion;
    request.zerocopy = a.zerocopy;
    if a.zerocopy && kind != TestKind::TcpStream {
        bail!("--zerocopy applies to tcp-stream only");
    }
    request.receive_wait = match a.receive_wait {
        Wait::Auto => ReceiveWait::Auto,
        Wait::Poll => ReceiveWait::Poll,
        Wait::Block => ReceiveWait::Block,
    };
    request.server_cpus = cpus(a.server_cpus.as_deref()).context("--server-cpus")?;
    request.request_timeout_ms = a.timeout_ms;
    // Check locally what the server would refuse anyway, with the same words.
    ServerLimits {
        max_duration: Duration::from_secs(86_400),
        max_streams: u32::MAX,
        max_udp_rate_bits_per_sec: u64::MAX,
        ..Default::default()
    }
    .check(&request)
    .map_err(|r| anyhow::anyhow!("{r}"))?;
    let mut config = ClientConfig::new(a.server, request);
    config.psk = key(a.psk)?;
    config.cpus = cpus(a.cpus.as_deref()).context("--cpus")?;
    config.run_id = a.run_id;
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

/// `128K` = 131072 bytes (binary suffixes).
fn parse_size(text: &str) -> Result<u32> {
    let (num, mult) = split_suffix(text, 1024.0)?;
    let value = num * mult;
    if !(1.0..=u32::MAX as f64).contains(&value) {
        bail!("{text:?} is out of range; give bytes like 1400, 128K or 1M");
    }
    Ok(value as u32)
}

/// `1G` = 10^9 (decimal suffixes).
fn parse_rate(text: &str) -> Result<u64> {
    let (num, mult) = split_suffix(text, 1000.0)?;
    let value = num * mult;
    if !(1.0..=1e13).contains(&value) {
        bail!("{text:?} is out of range; give a rate like 500M or 1G");
    }
    Ok(value as u64)
}

fn split_suffix(text: &str, base: f64) -> Result<(f64, f64)> {
    let t = text.trim();
    let (digits, mult) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], base),
        Some('m' | 'M') => (&t[..t.len() - 1], base * base),
        Some('g' | 'G') => (&t[..t.len() - 1], base * base * base),
        _ => (t, 1.0),
    };
    let num: f64 = digits
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n >= 0.0)
        .with_context(|| format!("{text:?} is not a number with an optional k/M/G suffix"))?;
    Ok((num, mult))
}

fn print_report(report: &probe_core::Report, json: bool) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut stdout, report)?;
        writeln!(stdout)?;
    } else {
        eprint!("{}", netprobe::report::human_summary(report));
        writeln!(stdout, "{}", result_line::encode(report)?)?;
    }
    stdout.flush()?;
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
                "netprobe server listening on {addr}{}{}",
                if config.psk.is_some() {
                    " (key required)"
                } else {
                    ""
                },
                if config.once { ", one test" } else { "" }
            );
            let once = config.once;
            let summary = netprobe::serve(listener, config, netprobe::shutdown_signal()).await?;
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

    #[test]
    fn sizes_and_rates() {
        assert_eq!(parse_size("128K").unwrap(), 131_072);
        assert_eq!(parse_size("1400").unwrap(), 1400);
        assert_eq!(parse_rate("1G").unwrap(), 1_000_000_000);
        assert_eq!(parse_rate("500M").unwrap(), 500_000_000);
        assert!(parse_size("lots").is_err());
        assert!(parse_rate("-1").is_err());
    }
}
