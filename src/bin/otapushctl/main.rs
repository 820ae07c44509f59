//! `otapushctl`: decode and encode PDUs, watch and drive a running `otapushd`, run the
//! simulated modem on a pty, and play the demo.

mod mms_bridge;
mod sim;

use clap::{Args, Parser, Subcommand};
use otapush::ctl::{self, json};
use std::cell::Cell;
use std::io::{self, BufRead, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "otapushctl", version, about = "Tool for otapush developers, integrators and scripts")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Decode PDUs and streams to JSON (one object per line).
    #[command(subcommand)]
    Decode(Decode),
    /// Encode a WAP Push into SMS PDUs (hex, one per line).
    #[command(subcommand)]
    Encode(Encode),
    /// Print each push as the daemon dispatches it.
    Monitor(BusArgs),
    /// Print the modem, bearer, streams, registrations and dead letters.
    Status(BusArgs),
    /// List the registrations.
    List(BusArgs),
    /// Feed one SMS PDU (hex, SMSC prefix included) to the daemon as if the modem received it.
    Inject {
        hex: String,
        #[command(flatten)]
        bus: BusArgs,
    },
    /// Run the simulated modem.
    Sim(SimArgs),
    /// Run the daemon with the simulated modem on a private bus and play a short story.
    Demo(DemoArgs),
    /// Forward MMS notifications to mmsd-tng, acknowledging each once mmsd-tng accepted it.
    MmsBridge(MmsBridgeArgs),
}

#[derive(Subcommand, Debug)]
enum Decode {
    /// SMS PDUs (SMS-DELIVER, SMS-STATUS-REPORT); `-` reads one hex PDU per line from stdin.
    Sms {
        /// The PDUs have no SMSC address in front.
        #[arg(long)]
        no_smsc: bool,
        #[arg(required = true)]
        hex: Vec<String>,
    },
    /// A WSP Push or ConfirmedPush PDU.
    Wsp { hex: String },
    /// The whole receive path over SMS PDUs in order, reassembly included; `-` reads stdin.
    Push {
        #[arg(required = true)]
        hex: Vec<String>,
    },
    /// An event stream read from stdin.
    Sse,
}

#[derive(Subcommand, Debug)]
enum Encode {
    /// A WAP Push carried by SMS: prints the SMS-DELIVER PDUs.
    Push(EncodePush),
}

#[derive(Args, Debug)]
struct EncodePush {
    /// Application id: a URN (`x-wap-application:mms.ua`) or a number.
    #[arg(long)]
    app_id: Option<String>,
    /// Content type, parameters allowed (`text/plain; charset=utf-8`).
    #[arg(long)]
    content_type: String,
    /// The body (`-` for stdin).
    #[arg(long)]
    body_file: PathBuf,
    /// The originator: `+4912345`, national digits, or an alphanumeric name.
    #[arg(long, default_value = "+15550100")]
    from: String,
    /// Extra header, `Name: value` (repeatable).
    #[arg(long = "header")]
    headers: Vec<String>,
    /// WSP transaction id.
    #[arg(long, default_value_t = 1)]
    tid: u8,
    /// A ConfirmedPush (0x07) instead of a Push (0x06).
    #[arg(long)]
    confirmed: bool,
    /// Concatenation reference.
    #[arg(long = "ref", default_value_t = 1)]
    reference: u16,
    /// Concatenation reference width, 8 or 16.
    #[arg(long, default_value_t = 8)]
    ref_bits: u8,
}

#[derive(Args, Debug)]
struct BusArgs {
    /// `system`, `session` or an address; default: $OTAPUSH_BUS, else the session bus.
    #[arg(long)]
    bus: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

impl BusArgs {
    fn bus(&self) -> String {
        self.bus.clone().or_else(|| std::env::var("OTAPUSH_BUS").ok()).unwrap_or_else(|| "session".into())
    }
}

#[derive(Args, Debug)]
struct SimArgs {
    /// Serve the simulator on a pseudo-terminal and print its path.
    #[arg(long)]
    pty: bool,
    /// A script of simulator commands to run at start.
    #[arg(long)]
    script: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct DemoArgs {
    /// Use this bus instead of starting a private dbus-daemon.
    #[arg(long)]
    bus: Option<String>,
    /// The otapushd binary (default: beside this one).
    #[arg(long)]
    daemon: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct MmsBridgeArgs {
    /// otapushd's bus: `system`, `session` or an address; default: $OTAPUSH_BUS, else the system bus.
    #[arg(long)]
    bus: Option<String>,
    /// mmsd-tng's bus: `session` (the default) or an address.
    #[arg(long, default_value = "session")]
    mmsd_bus: String,
    /// `Name` of the persistent registration.
    #[arg(long, default_value = "mms-bridge")]
    name: String,
    /// Seconds one PushNotify call may take (keep it below otapushd's `[cai] deliver_timeout`).
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// `QueueTtl` of the registration in seconds (default: the daemon's, 86400).
    #[arg(long)]
    queue_ttl: Option<u32>,
}

/// One input of `decode sms`/`decode push`: a hex argument, or a line of stdin.
enum Input<'a> {
    Pdu(&'a [u8]),
    /// A stdin line that is not UTF-8 text.
    NotText,
}

/// Calls `each` for every hex argument, or for every non-blank stdin line when the only argument
/// is `-`. Stdin is streamed: memory is one line, whatever the batch size.
fn for_each_input(args: &[String], mut each: impl FnMut(Input<'_>) -> io::Result<()>) -> io::Result<()> {
    if args.len() != 1 || args[0] != "-" {
        return args.iter().try_for_each(|a| each(Input::Pdu(a.as_bytes())));
    }
    let mut stdin = io::stdin().lock();
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        if stdin.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let t = line.trim_ascii();
        if t.is_empty() {
            continue;
        }
        each(if std::str::from_utf8(t).is_ok() { Input::Pdu(t) } else { Input::NotText })?;
    }
}

fn decode(cmd: Decode) -> ExitCode {
    // One lock of stdout, one buffer for the whole run: each record is serialized straight into it.
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    let failed = Cell::new(false);
    let result = decode_into(cmd, &mut out, &failed).and_then(|()| out.flush());
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("otapushctl: {e}");
            return ExitCode::FAILURE;
        }
        Ok(()) => {}
    }
    if failed.get() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Writes the records of `cmd` to `out`; `failed` is set when an input could not be decoded.
fn decode_into<W: Write>(cmd: Decode, out: &mut W, failed: &Cell<bool>) -> io::Result<()> {
    let fail = |out: &mut W, e: &dyn std::fmt::Display| {
        failed.set(true);
        json::write_error(out, e)
    };
    let mut pdu = Vec::with_capacity(256);
    match cmd {
        Decode::Sms { no_smsc, hex } => for_each_input(&hex, |input| {
            let Input::Pdu(text) = input else {
                return fail(out, &"input line is not UTF-8 text");
            };
            if let Err(e) = otapush::hex::decode_into(text, &mut pdu) {
                return fail(out, &e);
            }
            match otapush::sms::decode(&pdu, !no_smsc) {
                Ok(p) => json::write_line(out, &ctl::decode_sms::SmsRecord::new(&p)),
                Err(e) => fail(out, &e),
            }
        }),
        Decode::Wsp { hex } => match otapush::hex::decode(&hex) {
            Err(e) => fail(out, &e),
            Ok(pdu) => match otapush::wsp::parse(&pdu) {
                Ok(p) => json::write_line(out, &ctl::decode_wsp::WspRecord::new(&p)),
                Err(e) => fail(out, &e),
            },
        },
        Decode::Push { hex } => {
            let mut decoder = ctl::decode_push::PushDecoder::new();
            for_each_input(&hex, |input| {
                let Input::Pdu(text) = input else {
                    decoder.skip();
                    return fail(out, &"input line is not UTF-8 text");
                };
                if let Err(e) = otapush::hex::decode_into(text, &mut pdu) {
                    decoder.skip();
                    return fail(out, &e);
                }
                for r in decoder.feed(&pdu) {
                    match r {
                        Ok(c) => json::write_line(out, &ctl::decode_push::MessageRecord::new(&c))?,
                        Err(reject) => {
                            failed.set(true);
                            json::write_line(out, &reject)?
                        }
                    }
                }
                Ok(())
            })
        }
        Decode::Sse => {
            let mut input = Vec::new();
            match io::stdin().lock().read_to_end(&mut input) {
                Err(e) => fail(out, &e),
                Ok(_) => {
                    let parsed = ctl::decode_sse::parse(&input);
                    json::write_line(out, &ctl::decode_sse::SseRecord::new(&parsed))
                }
            }
        }
    }
}

fn encode(cmd: Encode) -> ExitCode {
    let Encode::Push(p) = cmd;
    let body = if p.body_file.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::stdin().lock().read_to_end(&mut b).map(|_| b)
    } else {
        std::fs::read(&p.body_file)
    };
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            eprintln!("otapushctl: {}: {e}", p.body_file.display());
            return ExitCode::FAILURE;
        }
    };
    let mut headers = Vec::new();
    for h in &p.headers {
        match h.split_once(':') {
            Some((n, v)) => headers.push((n.trim().to_string(), v.trim().to_string())),
            None => {
                eprintln!("otapushctl: header {h:?} is not `Name: value`");
                return ExitCode::FAILURE;
            }
        }
    }
    let req = ctl::encode::PushRequest {
        app_id: p.app_id,
        content_type: p.content_type,
        headers,
        body,
        from: p.from,
        tid: p.tid,
        confirmed: p.confirmed,
        reference: p.reference,
        ref_bits: p.ref_bits,
        ..Default::default()
    };
    match ctl::encode::encode_push(&req) {
        Ok(pdus) => {
            for pdu in pdus {
                println!("{}", otapush::hex::encode_upper(&pdu));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("otapushctl: {e}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("otapushctl: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    }
}

fn report(r: Result<(), String>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("otapushctl: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    otapush::logging::init("warn");
    let cli = Cli::parse();
    match cli.command {
        Command::Decode(d) => decode(d),
        Command::Encode(e) => encode(e),
        Command::Monitor(b) => {
            let mut out = std::io::stdout();
            report(
                runtime()
                    .block_on(ctl::bus::monitor(&b.bus(), b.json, &mut out, None))
                    .map_err(|e| e.to_string()),
            )
        }
        Command::Status(b) => {
            let mut out = std::io::stdout();
            report(
                runtime().block_on(ctl::bus::status(&b.bus(), b.json, &mut out)).map_err(|e| e.to_string()),
            )
        }
        Command::List(b) => {
            let mut out = std::io::stdout();
            report(runtime().block_on(ctl::bus::list(&b.bus(), b.json, &mut out)).map_err(|e| e.to_string()))
        }
        Command::Inject { hex, bus } => report(
            runtime().block_on(ctl::bus::inject(&bus.bus(), &hex)).map(|_| ()).map_err(|e| e.to_string()),
        ),
        Command::Sim(s) => {
            if !s.pty {
                eprintln!(
                    "otapushctl: only `sim --pty` is available (the daemon runs `device = \"sim\"` itself)"
                );
                return ExitCode::FAILURE;
            }
            // Nothing reads the command log of a pty simulator.
            let opts = otapush::modem::sim::SimOptions { command_log: 0, ..Default::default() };
            report(runtime().block_on(sim::run_pty(opts, s.script)).map_err(|e| e.to_string()))
        }
        Command::Demo(d) => report(runtime().block_on(ctl::demo::run(d.bus, d.daemon))),
        Command::MmsBridge(a) => {
            let opts = mms_bridge::Options {
                bus: a.bus.or_else(|| std::env::var("OTAPUSH_BUS").ok()).unwrap_or_else(|| "system".into()),
                mmsd_bus: a.mmsd_bus,
                name: a.name,
                timeout: std::time::Duration::from_secs(a.timeout.max(1)),
                queue_ttl: a.queue_ttl,
            };
            report(runtime().block_on(mms_bridge::run(opts)))
        }
    }
}
