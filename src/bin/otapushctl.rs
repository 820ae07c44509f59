fn main() {
    eprintln!("otapushctl: not wired yet");
    std::process::exit(1);
}
