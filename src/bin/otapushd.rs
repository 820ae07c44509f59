fn main() {
    eprintln!("otapushd: not wired yet");
    std::process::exit(1);
}
