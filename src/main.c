/* placeholder during development */
int main(void){return 0;}
