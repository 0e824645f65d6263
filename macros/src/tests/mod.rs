mod route;
