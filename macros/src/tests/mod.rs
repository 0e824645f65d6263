mod expand;
mod route;
