use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut ratios = vec![];
    let (mut bs, mut ls) = (vec![], vec![]);
    for _ in 0..11 {
        let t = Instant::now();
        let v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let bare = t.elapsed();
        drop(v);
        let t = Instant::now();
        let d = roster::desired::load(std::path::Path::new(&path), &roster::desired::process_env)
            .unwrap();
        let load = t.elapsed();
        drop(d);
        ratios.push(load.as_secs_f64() / bare.as_secs_f64());
        bs.push(bare);
        ls.push(load);
    }
    ratios.sort_by(|a, b| a.partial_cmp(b).unwrap());
    bs.sort();
    ls.sort();
    println!(
        "median bare {:?} load {:?} ratio-of-medians {:.2} median-ratio {:.2}",
        bs[5],
        ls[5],
        ls[5].as_secs_f64() / bs[5].as_secs_f64(),
        ratios[5]
    );
}
