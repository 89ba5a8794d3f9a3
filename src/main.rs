//! The `rayproc` binary: all the work is in the library; `main` only maps
//! the outcome to an exit code.

/// The system's allocator, with refused memory a clear error, not an abort.
#[global_allocator]
static ALLOCATOR: rayproc::alloc::Allocator = rayproc::alloc::Allocator;

fn main() {
    // before any thread starts: every thread inherits the blocked signals
    rayproc::signals::init();
    let code = match rayproc::cli::main_with_args(std::env::args_os()) {
        Ok(()) => 0,
        // `rayproc ... | head`: a closed stdout is not a failure
        Err(e) if e.is_broken_pipe() => 0,
        Err(e) => {
            rayproc::say!("rayproc: error: {e}");
            e.exit_code()
        }
    };
    std::process::exit(code);
}
