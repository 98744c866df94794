//! `certpin fetch`: a TLS handshake that shows the chain a server presents,
//! whatever its trust, so that a policy can be written for it.

use std::fmt::Write as _;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};

use super::input::Item;
use super::{clock, inspect, rule, Failure, Output, EXIT_INPUT, EXIT_NETWORK, EXIT_OK, EXIT_REJECTED};
use crate::host::Host;

/// Connect to a TLS server, show the chain it presents, optionally save it and suggest a rule.
#[derive(Args)]
#[command(after_help = "\
The chain is accepted whatever its trust (fetch only looks; check decides), but
the server must still prove it holds the leaf's key: the handshake signature is
verified. An IPv6 address is written in brackets: [::1]:8443.

With --rule the chain's description goes to stderr and stdout holds only a
policy with one rule for HOST, found by certpin's own verifier: the system
trust store when the chain leads to it, else the last certificate sent as the
anchor; pinned: the leaf and intermediates of the validated path. A backup pin
must still be added: stderr says so. Exit status 1 when that rule does not
accept the chain (a name mismatch, an expired certificate).

Example:
  certpin fetch api.example.com --out chain.pem --rule > pins.json
  certpin fetch [::1]:8443 --sni api.example.com")]
pub(crate) struct FetchArgs {
    /// The server: HOST, HOST:PORT, [IPv6]:PORT (port 443 by default).
    #[arg(value_name = "HOST[:PORT]")]
    target: String,
    /// The name sent as SNI (and checked by the rule) instead of HOST.
    #[arg(long, value_name = "NAME")]
    sni: Option<String>,
    /// Save the chain as PEM, leaf first.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print a policy (JSON) for the host, pinning the fetched chain.
    #[arg(long)]
    rule: bool,
    /// Give up connecting or waiting for the server after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
}

pub(crate) fn run(args: &FetchArgs) -> Result<Output, Failure> {
    let (host, port) = parse_target(&args.target).map_err(Failure::usage)?;
    let name = args.sni.clone().unwrap_or_else(|| host.clone());
    let server_name = ServerName::try_from(name.clone())
        .map_err(|_| Failure::usage(format!("{name:?} is not a valid DNS name or IP address")))?;
    let rule_host = Host::parse(&name).map_err(|e| Failure::usage(format!("{name:?}: {e}")))?;
    let timeout = Duration::from_secs(args.timeout);

    let fetched = handshake(&host, port, server_name, timeout)?;
    let now = clock::now();
    let mut output = Output::default();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Connected to {} ({}, {}); the server sent {} certificate{}\n",
        fetched.addr,
        fetched.protocol,
        fetched.suite,
        fetched.chain.len(),
        if fetched.chain.len() == 1 { "" } else { "s" }
    );
    let items: Vec<Item> = fetched.chain.iter().map(|c| Item::Certificate(c.clone())).collect();
    inspect::describe_items(&mut text, &items, now);

    if let Some(path) = &args.out {
        let pem: String = fetched.chain.iter().map(|der| crate::report::pem(der)).collect();
        std::fs::write(path, pem).map_err(|e| Failure::new(EXIT_INPUT, format!("{}: {e}", path.display())))?;
        let _ = writeln!(output.err, "wrote the chain to {}", path.display());
    }
    if args.rule {
        let suggestion = rule::suggest(&rule_host, &fetched.chain, now);
        output.err.insert_str(0, &text);
        output.out = suggestion.json;
        for note in suggestion.notes {
            let _ = writeln!(output.err, "{note}");
        }
        output.code = if suggestion.accepted { EXIT_OK } else { EXIT_REJECTED };
    } else {
        output.out = text;
    }
    Ok(output)
}

/// `HOST`, `HOST:PORT`, `[V6]`, `[V6]:PORT`, or a bare IPv6 address.
fn parse_target(text: &str) -> Result<(String, u16), String> {
    let bad = |why: &str| format!("{text:?}: {why}; expected HOST, HOST:PORT or [IPv6]:PORT");
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest.split_once(']').ok_or_else(|| bad("no closing ']'"))?;
        if inside.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad("what is in brackets is not an IPv6 address"));
        }
        match after {
            "" => (inside, None),
            _ => (
                inside,
                Some(after.strip_prefix(':').ok_or_else(|| bad("text after ']'"))?),
            ),
        }
    } else if text.matches(':').count() > 1 {
        if text.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad("not an IPv6 address"));
        }
        (text, None)
    } else {
        match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let port = match port {
        None => 443,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(bad("the port is not a number from 1 to 65535")),
        },
    };
    Ok((host.to_string(), port))
}

struct Fetched {
    addr: SocketAddr,
    protocol: String,
    suite: String,
    chain: Vec<Vec<u8>>,
}

fn handshake(host: &str, port: u16, server_name: ServerName<'static>, timeout: Duration) -> Result<Fetched, Failure> {
    let network = |message: String| Failure::new(EXIT_NETWORK, message);
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => (host, port)
            .to_socket_addrs()
            .map_err(|e| network(format!("cannot resolve {host}: {e}")))?
            .collect(),
    };
    let mut last_error = None;
    let mut connected = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(stream) => {
                connected = Some((stream, *addr));
                break;
            }
            Err(e) => last_error = Some((*addr, e)),
        }
    }
    let (mut stream, addr) = match (connected, last_error) {
        (Some(c), _) => c,
        (None, Some((addr, e))) if is_timeout(&e) => {
            return Err(network(format!(
                "cannot connect to {addr}: no answer within {} s",
                timeout.as_secs()
            )))
        }
        (None, Some((addr, e))) => return Err(network(format!("cannot connect to {addr}: {}", one_line(&e)))),
        (None, None) => return Err(network(format!("{host} resolves to no address"))),
    };
    let io_setup = |e: io::Error| network(format!("{addr}: {}", one_line(&e)));
    stream.set_read_timeout(Some(timeout)).map_err(io_setup)?;
    stream.set_write_timeout(Some(timeout)).map_err(io_setup)?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Failure::new(EXIT_NETWORK, format!("TLS set-up: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyChain { provider }))
        .with_no_client_auth();
    let mut conn = ClientConnection::new(Arc::new(config), server_name)
        .map_err(|e| Failure::new(EXIT_NETWORK, format!("TLS set-up: {e}")))?;

    // Each read waits at most `timeout`; the deadline stops a server that trickles bytes.
    let deadline = Instant::now() + timeout;
    while conn.is_handshaking() {
        if Instant::now() > deadline {
            return Err(network(format!(
                "TLS handshake with {addr}: not finished within {} s",
                timeout.as_secs()
            )));
        }
        if let Err(e) = conn.complete_io(&mut stream) {
            return Err(network(handshake_error(addr, &e, timeout)));
        }
    }
    let chain: Vec<Vec<u8>> = conn
        .peer_certificates()
        .unwrap_or_default()
        .iter()
        .map(|c| c.as_ref().to_vec())
        .collect();
    if chain.is_empty() {
        return Err(network(format!("{addr}: the server sent no certificate")));
    }
    let protocol = conn
        .protocol_version()
        .map_or("TLS".into(), |v| format!("{v:?}").replace('_', "."));
    let suite = conn
        .negotiated_cipher_suite()
        .map_or("unknown suite".into(), |s| format!("{:?}", s.suite()));
    conn.send_close_notify();
    let _ = conn.complete_io(&mut stream);
    Ok(Fetched {
        addr,
        protocol,
        suite,
        chain,
    })
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock)
}

fn handshake_error(addr: SocketAddr, e: &io::Error, timeout: Duration) -> String {
    match e.kind() {
        _ if is_timeout(e) => format!("TLS handshake with {addr}: no answer within {} s", timeout.as_secs()),
        io::ErrorKind::UnexpectedEof => {
            format!("TLS handshake with {addr}: the server closed the connection before the handshake completed")
        }
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => {
            format!("TLS handshake with {addr}: the server reset the connection")
        }
        _ => match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
            Some(rustls::Error::InvalidCertificate(rustls::CertificateError::BadSignature)) => format!(
                "TLS handshake with {addr} failed: the server's handshake signature does not verify with the key \
                 of the certificate it sent (it does not hold that key)"
            ),
            _ => format!("TLS handshake with {addr} failed: {}", one_line(e)),
        },
    }
}

fn one_line(e: &dyn std::fmt::Display) -> String {
    e.to_string().replace('\n', " ")
}

/// Accepts every chain, so that `fetch` can show chains certpin would reject;
/// the handshake signature is still verified with the provider's algorithms,
/// so the chain shown is one whose leaf key the server holds.
#[derive(Debug)]
struct AnyChain {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AnyChain {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(parse_target("example.com"), Ok(("example.com".into(), 443)));
        assert_eq!(parse_target("example.com:8443"), Ok(("example.com".into(), 8443)));
        assert_eq!(parse_target("[::1]:8443"), Ok(("::1".into(), 8443)));
        assert_eq!(parse_target("[::1]"), Ok(("::1".into(), 443)));
        assert_eq!(parse_target("::1"), Ok(("::1".into(), 443)));
        assert_eq!(parse_target("127.0.0.1:1"), Ok(("127.0.0.1".into(), 1)));
        for bad in ["", ":443", "h:0", "h:x", "h:70000", "[::1", "[x]:1", "[::1]x", "a:b:c"] {
            assert!(parse_target(bad).is_err(), "{bad:?}");
        }
    }
}
