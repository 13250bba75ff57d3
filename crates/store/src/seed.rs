pub mod seed {}
