from conftest import login_as


def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert "csrf_token" in response.get_data(as_text=True)


def test_login_and_logout(client, sqlite_services):
    login_as(client, sqlite_services, "professional")
