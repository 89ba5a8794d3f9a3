//! Partial states from untrusted bytes (`rayproc reduce` reads them from
//! other machines).
//!
//! The input is a partial's body: byte 0 picks the plan (bit 0: with or
//! without `--by k`, bit 1: `min`/`max` keeping text), the rest is given to
//! `Partial::decode`. Decoding must never panic nor allocate beyond a
//! constant times the input; when it succeeds, the bytes must be the
//! canonical encoding (re-encoding gives them back), and the partial,
//! merged with a second decoding of itself and with an empty partial, must
//! report completeness and finish without a panic. The plan has an
//! aggregate of every kind.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rayproc::partial::Partial;
use rayproc::plan::Plan;
use rayproc::spec::parse_specs;

const AGGS: &str = "count,count:v,null_count:v,sum:v,mean:w,var:v,std_pop:w,median:v,p99.9:w,\
min:v,max:k,distinct:w,approx_distinct:v,approx_median:w,approx_p99:v";

fn plan(by: bool, text_extremes: bool) -> Plan {
    let header: Vec<String> = ["k", "v", "w"].map(String::from).to_vec();
    let by: Vec<String> = if by { vec!["k".into()] } else { Vec::new() };
    let mut plan = Plan::new(&header, &parse_specs(&[AGGS]).unwrap(), &by).unwrap();
    plan.text_extremes = text_extremes;
    plan
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let plan = plan(pick & 1 != 0, pick & 2 != 0);
    let Ok(partial) = Partial::decode(&plan, body) else {
        return;
    };
    let mut again = Vec::new();
    partial.encode(&mut again);
    assert_eq!(again, body, "accepted bytes are canonical");
    let twin = Partial::decode(&plan, body).expect("decodes twice");
    let merged = Partial::merge_all(&plan, vec![partial, twin, Partial::new(&plan)]);
    merged.complete(&plan);
    merged.finish(&plan);
});
