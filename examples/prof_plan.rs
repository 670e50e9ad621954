use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    for _ in 0..3 {
        let t = Instant::now();
        let _v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let bare = t.elapsed();
        let t = Instant::now();
        let d = roster::desired::load(std::path::Path::new(&path), &roster::desired::process_env).unwrap();
        let load = t.elapsed();
        std::hint::black_box(d);
        println!("bare {bare:?} load {load:?} ratio {:.2}", load.as_secs_f64() / bare.as_secs_f64());
    }
}
