fn main() {
    println!("tinyrnn trainer");
}
