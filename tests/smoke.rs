mod common;
use certpin::{flags, verify, PinResult, Policy};
use common::*;

#[test]
fn smoke() {
    let ss = openssl_style_self_signed("localhost");
    let p = Policy::from_pem(ss.pem.as_bytes()).unwrap();
    let v = verify(&p, &ss.der, "localhost", None);
    assert_result(&v, PinResult::PIN_OK);
    assert_eq!(v.flags, flags::VOUCHED | flags::NAME_VERIFIED);
    let r = root("Root");
    let i = intermediate("Inter", &r);
    let l = leaf(&["api.example.com"], &i);
    let p = one_rule(&["api.example.com"], &[&r], &[i.pin()], "");
    let v = verify(&p, &chain(&[&l, &i]), "api.example.com", None);
    assert_result(&v, PinResult::PIN_OK);
    let p = one_rule(&["api.example.com"], &[&r], &[ss.pin()], "");
    let v = verify(&p, &chain(&[&l, &i]), "api.example.com", None);
    assert_result(&v, PinResult::PIN_ERR_PIN_MISMATCH);
    println!("{}", v.message());
}
