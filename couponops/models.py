"""couponops/ is the project (settings, URLs, pages of its own); models live in the apps."""
