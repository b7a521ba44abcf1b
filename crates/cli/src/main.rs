fn main() {
    std::process::exit(parachute::run());
}
