pub mod copy_button;
pub mod layout;
pub mod theme;
