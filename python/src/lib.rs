//! `rayseg._rayseg`: the native half of the `rayseg` Python package. Each
//! function takes volumes as 1-D arrays in Fortran order plus a shape and a
//! 4×4 affine (rows), as the package's Python layer prepares them, and calls
//! the same library code as the CLI; results come back as arrays or as the
//! JSON the CLI's `--json` prints.

mod analysis;
mod arrays;
mod edit;
mod errors;
mod grow;
mod io;

use pyo3::prelude::*;

#[pymodule]
fn _rayseg(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("RaysegError", m.py().get_type::<errors::RaysegError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(io::load, m)?)?;
    m.add_function(wrap_pyfunction!(io::info, m)?)?;
    m.add_function(wrap_pyfunction!(io::load_labels, m)?)?;
    m.add_function(wrap_pyfunction!(io::save_labels, m)?)?;
    m.add_function(wrap_pyfunction!(analysis::stats, m)?)?;
    m.add_function(wrap_pyfunction!(analysis::compare, m)?)?;
    m.add_function(wrap_pyfunction!(edit::apply_ops, m)?)?;
    m.add_function(wrap_pyfunction!(grow::grow, m)?)?;
    m.add_function(wrap_pyfunction!(grow::gpu_info, m)?)?;
    Ok(())
}
